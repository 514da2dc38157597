// The VMDK Layer: a descriptor plus the extents it lists.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "formats/driver.h"
#include "formats/layer.h"
#include "formats/vmdk/descriptor.h"
#include "formats/vmdk/extent.h"

namespace dk::fmt::vmdk {

class VmdkLayer final : public Layer {
 public:
  // `desc_file` is the file opened as the image (the descriptor, or the
  // monolithic sparse file); extents[i] covers the guest bytes after
  // extents[i-1]. `embedded` is true when the descriptor lives inside a
  // sparse extent (monolithicSparse, streamOptimized).
  VmdkLayer(std::string filename, bool writable, Descriptor desc, std::shared_ptr<File> desc_file,
            std::vector<std::unique_ptr<VmdkExtent>> extents, bool embedded);
  ~VmdkLayer() override;

  std::string_view format_name() const override { return "vmdk"; }
  uint64_t size() const override { return m_size; }
  std::optional<uint64_t> cluster_size() const override;
  std::string backing_filename() const override { return m_desc.parent_hint; }
  std::string backing_format() const override { return m_desc.parent_hint.empty() ? "" : "vmdk"; }
  // info.cc: {create-type, cid, parent-cid, extents: [...]} in QAPI order.
  nlohmann::ordered_json format_specific() const override;
  Result<uint64_t> actual_size() const override;
  uint64_t max_transfer() const override { return 16u << 20; }

  const Descriptor& descriptor() const { return m_desc; }
  // check.cc: QEMU's vmdk_co_check (grains past the end of their file; no repair).
  Result<CheckReport> check(CheckFix fix) override;

 protected:
  Result<void> do_read(uint64_t off, std::span<std::byte> out) override;
  Result<void> do_write(uint64_t off, std::span<const std::byte> in) override;
  Result<void> do_write_zeroes(uint64_t off, uint64_t len, bool may_unmap) override;
  Result<void> do_flush() override;
  Result<Extent> do_block_status(uint64_t off, uint64_t len) override;
  Result<void> do_write_compressed(uint64_t off, std::span<const std::byte> in) override;
  Result<void> do_truncate(uint64_t new_size, bool shrink_allowed) override;

 private:
  // The extent holding guest offset off and its start.
  std::pair<VmdkExtent*, uint64_t> find(uint64_t off) const;
  BelowFn below_for(uint64_t start);
  Result<void> update_embedded_descriptor(uint64_t old_sectors, uint64_t new_sectors);

  Descriptor m_desc;
  std::shared_ptr<File> m_desc_file;
  std::vector<std::unique_ptr<VmdkExtent>> m_extents;
  std::vector<uint64_t> m_starts;
  uint64_t m_size = 0;
  bool m_embedded;
};

Result<std::unique_ptr<Layer>> open_vmdk(const std::string& path, const OpenOptions& opts);
Result<void> create_vmdk(const std::string& path, const CreateSpec& spec);

// QEMU's path_combine: a relative name is relative to base's directory.
std::string path_combine(const std::string& base, const std::string& name);

}  // namespace dk::fmt::vmdk
