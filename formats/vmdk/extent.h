// VMDK extents: the pieces a VMDK disk is made of (one per descriptor
// extent line). The Layer (layer.cc) maps guest offsets to extents; each
// extent answers in offsets relative to its own start.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "formats/core/error.h"
#include "formats/core/file.h"
#include "formats/layer.h"
#include "formats/vmdk/format.h"

namespace dk::fmt::vmdk {

// Reads what lies below the disk (backing file or zeroes) at an offset
// relative to the calling extent's start.
using BelowFn = std::function<Result<void>(uint64_t rel, std::span<std::byte> out)>;

class VmdkExtent {
 public:
  VmdkExtent(std::shared_ptr<File> file, uint64_t length) : m_file(std::move(file)), m_length(length) {}
  virtual ~VmdkExtent() = default;

  // Guest bytes this extent covers.
  uint64_t length() const { return m_length; }
  const std::string& path() const { return m_file->path(); }
  const File& file() const { return *m_file; }
  // The extent type as qemu-img info prints it ("FLAT", "SPARSE", "" for a
  // monolithic sparse file opened directly).
  std::string type_name;
  // Grain size in bytes for sparse extents.
  virtual std::optional<uint64_t> grain_bytes() const { return std::nullopt; }
  virtual bool compressed() const { return false; }
  virtual bool writable() const { return m_file->writable(); }

  // Reads [rel, rel+out.size()); unallocated parts come from below().
  virtual Result<void> read(uint64_t rel, std::span<std::byte> out, const BelowFn& below) = 0;
  // Writes; partially written grains are completed from below().
  virtual Result<void> write(uint64_t rel, std::span<const std::byte> in, const BelowFn& below);
  // Zeroes efficiently where the format can; ENOTSUP otherwise.
  virtual Result<void> write_zeroes(uint64_t rel, uint64_t len, const BelowFn& below);
  // Writes whole grains compressed (streamOptimized only).
  virtual Result<void> write_compressed(uint64_t rel, std::span<const std::byte> in, const BelowFn& below);
  // Status at rel (Extent::file is the extent file); the length may be short.
  virtual Result<Extent> block_status(uint64_t rel, uint64_t len) = 0;
  // Makes written data and metadata stable (streams write their footer).
  virtual Result<void> flush() { return m_file->writable() ? m_file->flush() : Result<void>{}; }
  // Grows the extent (monolithicSparse resize).
  virtual Result<void> grow(uint64_t new_length);

 protected:
  std::shared_ptr<File> m_file;
  uint64_t m_length;
};

// FLAT and VMFS extents: a byte range of a raw host file.
class FlatExtent final : public VmdkExtent {
 public:
  FlatExtent(std::shared_ptr<File> file, uint64_t length, uint64_t file_offset)
      : VmdkExtent(std::move(file), length), m_offset(file_offset) {}
  Result<void> read(uint64_t rel, std::span<std::byte> out, const BelowFn& below) override;
  Result<void> write(uint64_t rel, std::span<const std::byte> in, const BelowFn& below) override;
  Result<Extent> block_status(uint64_t rel, uint64_t len) override;

 private:
  uint64_t m_offset;
};

// A hosted sparse extent (SparseExtentHeader, grain directory, grain tables).
class SparseExtent : public VmdkExtent {
 public:
  // Opens the sparse extent in `file`; `length` is the guest size (0: the
  // header's capacity). The header may come from the stream footer.
  static Result<std::unique_ptr<SparseExtent>> open(std::shared_ptr<File> file, uint64_t length);
  // Opens a VMFSSPARSE (ESX "COWD") extent, read-only.
  static Result<std::unique_ptr<SparseExtent>> open_cowd(std::shared_ptr<File> file, uint64_t length);
  bool writable() const override { return !m_read_only && m_file->writable(); }

  std::optional<uint64_t> grain_bytes() const override { return m_grain; }
  bool compressed() const override { return m_h.flags & kFlagCompressed; }
  const SparseExtentHeader& header() const { return m_h; }

  Result<void> read(uint64_t rel, std::span<std::byte> out, const BelowFn& below) override;
  Result<void> write(uint64_t rel, std::span<const std::byte> in, const BelowFn& below) override;
  Result<void> write_zeroes(uint64_t rel, uint64_t len, const BelowFn& below) override;
  Result<Extent> block_status(uint64_t rel, uint64_t len) override;
  Result<void> grow(uint64_t new_length) override;

 protected:
  SparseExtent(std::shared_ptr<File> file, uint64_t length, const SparseExtentHeader& h)
      : VmdkExtent(std::move(file), length), m_h(h), m_grain(h.grainSize * kSector) {}

  Result<void> load_directory();
  // False while cached tables hold entries not yet in the file.
  virtual bool can_evict_tables() const { return true; }
  // The grain table entry of grain g (0: unallocated).
  Result<uint32_t> lookup(uint64_t g);
  // Sets the entry of grain g in the grain table and its redundant copy.
  Result<void> set_entry(uint64_t g, uint32_t value);
  Result<std::vector<uint32_t>*> table(uint64_t gt_index);
  Result<void> allocate_table(uint64_t gt_index);
  Result<void> check_grain(uint64_t g, uint32_t sector, uint64_t need) const;
  std::string where() const { return "'" + path() + "'"; }

  SparseExtentHeader m_h;
  uint64_t m_grain;                  // bytes
  std::vector<uint32_t> m_gd;        // grain directory (sectors of the GTs)
  std::vector<uint32_t> m_rgd;       // redundant grain directory (empty when none)
  std::unordered_map<uint64_t, std::vector<uint32_t>> m_gts;  // cached grain tables
  uint64_t m_file_end = 0;           // allocation point (bytes)
  bool m_read_only = false;          // formats diskit reads but does not write
};

// A streamOptimized extent: deflate-compressed grains behind grain markers,
// grain tables and directory behind metadata markers, footer and
// end-of-stream marker. Written once, sequentially (convert).
class StreamExtent final : public SparseExtent {
 public:
  static Result<std::unique_ptr<StreamExtent>> open(std::shared_ptr<File> file, uint64_t length);

  Result<void> read(uint64_t rel, std::span<std::byte> out, const BelowFn& below) override;
  Result<void> write(uint64_t rel, std::span<const std::byte> in, const BelowFn& below) override;
  Result<void> write_zeroes(uint64_t, uint64_t, const BelowFn&) override {
    return make_error(ENOTSUP, "no zero writes on streams");
  }
  Result<void> write_compressed(uint64_t rel, std::span<const std::byte> in, const BelowFn& below) override;
  Result<Extent> block_status(uint64_t rel, uint64_t len) override;
  Result<void> flush() override;
  Result<void> grow(uint64_t) override {
    return make_error(ENOTSUP, where() + ": cannot resize a streamOptimized image");
  }

 private:
  using SparseExtent::SparseExtent;
  Result<void> load_grain(uint64_t g, uint32_t sector);
  Result<void> commit_pending();
  Result<void> emit_tables(uint64_t below_gt);
  Result<void> append_grain(uint64_t g, std::span<const std::byte> data);
  bool can_evict_tables() const override { return m_gt_dirty.empty(); }

  bool m_footer = false;          // layout with the directory at the end (GD_AT_END)
  bool m_markers = false;
  uint64_t m_tail = 0;            // where the end metadata (GD, footer, EOS) starts
  bool m_dirty = false;           // grains appended since the last footer
  std::map<uint64_t, bool> m_gt_dirty;   // tables changed since written (at-end layout)
  // One decompressed grain (reads) and the grain being written (sequential writes).
  uint64_t m_cached = UINT64_MAX;
  std::vector<std::byte> m_cache;
  uint64_t m_pending = UINT64_MAX;
  std::vector<std::byte> m_pend;
};

// A SESPARSE extent (ESXi 6.5+ "space-efficient sparse"), read-only: a
// constant header, a volatile header, 64-bit grain directory and grain
// table entries, 4 KiB grains. Journal replay is not supported.
class SeSparseExtent final : public VmdkExtent {
 public:
  // Opens and validates the headers in `file`; `length` is the guest size
  // from the descriptor (0: the header's capacity).
  static Result<std::unique_ptr<SeSparseExtent>> open(std::shared_ptr<File> file, uint64_t length);
  bool writable() const override { return false; }
  std::optional<uint64_t> grain_bytes() const override { return kGrain; }

  Result<void> read(uint64_t rel, std::span<std::byte> out, const BelowFn& below) override;
  Result<void> write(uint64_t, std::span<const std::byte>, const BelowFn&) override {
    return make_error(EROFS, "'" + path() + "': seSparse extents are read-only");
  }
  Result<void> write_zeroes(uint64_t, uint64_t, const BelowFn&) override {
    return make_error(EROFS, "'" + path() + "': seSparse extents are read-only");
  }
  Result<Extent> block_status(uint64_t rel, uint64_t len) override;
  Result<void> flush() override { return {}; }

  static constexpr uint64_t kGrain = 4096;
  static constexpr uint64_t kGtEntries = 4096;

 private:
  SeSparseExtent(std::shared_ptr<File> file, uint64_t length) : VmdkExtent(std::move(file), length) {}
  // What grain g is: 0 unallocated, 1 zero, 2 data at *host (bytes).
  Result<int> lookup(uint64_t g, uint64_t* host);
  Result<const std::vector<uint64_t>*> table(uint64_t gt_index);

  std::vector<uint64_t> m_gd;
  std::unordered_map<uint64_t, std::vector<uint64_t>> m_gts;
  uint64_t m_tables_sector = 0;  // grain_tables_offset
  uint64_t m_grains_sector = 0;  // grains_offset
  uint64_t m_fsize = 0;
};

// Opens the sparse (or stream) extent held in `file`.
Result<std::unique_ptr<VmdkExtent>> open_sparse_file(std::shared_ptr<File> file, uint64_t length);

}  // namespace dk::fmt::vmdk
