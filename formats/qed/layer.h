// QedLayer: one open QED image. Internal to formats/qed/.
//
// Tables: the L1 table lives in memory; L2 tables are cached (bounded) and
// written back lazily. Crash safety comes from ordering, not from writing
// through:
//   1. the need-check flag is set and flushed before the first allocating
//      write after open or flush;
//   2. data clusters are written at once, but the L2 entries pointing at
//      them only reach the disk in writeback_tables(), after a flush;
//   3. a new L2 table is written (and flushed) before the L1 entry naming it.
// A crash therefore leaves at worst leaked clusters, never an entry pointing
// at unwritten data; flush() and close clear the need-check flag again.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "formats/core/file.h"
#include "formats/qed/qed.h"

namespace dk::fmt::qed {

class QedLayer final : public Layer {
 public:
  QedLayer(File f, bool writable, const Header& h, std::string backing_name);
  ~QedLayer() override;

  // Reads the L1 table (after construction).
  Result<void> load();
  // The file was opened with O_DIRECT: host I/O goes through aligned bounce buffers.
  void set_direct(bool direct) { m_direct = direct; }
  // The consistency scan (see check.cc).
  Result<CheckResult> check(bool fix);
  // qemu-img check: the scan above as a CheckReport (QEMU never fixes qed leaks).
  Result<CheckReport> check(CheckFix fix) override;
  bool need_check() const { return m_header.features & kFeatureNeedCheck; }
  // Clears unknown autoclear feature bits (QEMU does on writable open).
  Result<void> clear_autoclear();

  std::string_view format_name() const override { return "qed"; }
  uint64_t size() const override { return m_header.image_size; }
  std::optional<uint64_t> cluster_size() const override { return m_geo.cluster_size; }
  std::string backing_filename() const override { return m_backing_name; }
  std::string backing_format() const override {
    return (m_header.features & kFeatureBackingFormatNoProbe) && !m_backing_name.empty() ? "raw" : "";
  }
  // qemu-img 7.2 reports "dirty-flag": false for qed whatever the need-check
  // flag says; match it.
  bool dirty() const override { return false; }
  Result<uint64_t> actual_size() const override { return m_file.allocated_size(); }
  Result<void> set_backing_file(const std::string& name, const std::string& fmt) override;

 protected:
  Result<void> do_read(uint64_t off, std::span<std::byte> out) override;
  Result<void> do_write(uint64_t off, std::span<const std::byte> in) override;
  Result<void> do_write_zeroes(uint64_t off, uint64_t len, bool may_unmap) override;
  Result<void> do_flush() override;
  Result<Extent> do_block_status(uint64_t off, uint64_t len) override;
  Result<void> do_truncate(uint64_t new_size, bool shrink_allowed) override;

 private:
  friend class Checker;

  enum class Kind { kUnallocated, kZero, kData };
  // A run of clusters of one kind (contiguous on the host for kData) inside
  // one L2 table, starting at the guest offset asked for.
  struct Run {
    Kind kind = Kind::kUnallocated;
    uint64_t host = 0;    // host offset of the guest offset (kData)
    uint64_t length = 0;  // bytes
  };
  struct L2Table {
    std::vector<uint64_t> entries;  // host byte order
    uint64_t offset = 0;            // in the file
    uint64_t last_use = 0;
    bool fresh = false;             // never written yet
    uint32_t dirty_lo = 0, dirty_hi = 0;  // dirty entry range [lo, hi)
  };

  Result<Run> find(uint64_t off, uint64_t len);
  // Host file I/O (past the end reads as zero); bounces through aligned
  // buffers, read-modify-write at the edges, when the file is O_DIRECT.
  Result<void> io_read(uint64_t off, std::span<std::byte> out) const;
  Result<void> io_write(uint64_t off, std::span<const std::byte> in);
  Result<std::vector<uint64_t>> read_table(uint64_t off) const;
  Result<L2Table*> get_l2(uint64_t l1_index, bool create);
  Result<void> evict_one();
  Result<void> writeback_tables();
  Result<void> write_header();
  Result<void> ensure_need_check();
  uint64_t alloc_clusters(uint64_t n);
  void mark_dirty(L2Table& t, uint64_t lo, uint64_t hi);
  Result<void> write_alloc(uint64_t off, std::span<const std::byte> in, Kind kind);
  Result<void> zero_alloc(uint64_t off, uint64_t len);
  Result<void> write_zero_bytes(uint64_t host, uint64_t len);
  std::string err_prefix() const { return "'" + filename() + "': "; }

  File m_file;
  Header m_header;
  std::string m_backing_name;
  Geometry m_geo;
  uint32_t m_l2_shift = 0;   // log2(cluster size)
  uint32_t m_l1_shift = 0;   // log2(bytes covered by one L2 table)
  std::vector<uint64_t> m_l1;
  uint64_t m_l1_dirty_lo = 0, m_l1_dirty_hi = 0;
  std::map<uint64_t, L2Table> m_cache;  // by table offset (writeback in file order)
  uint64_t m_cache_max = 0;
  uint64_t m_use_clock = 0;
  bool m_tables_dirty = false;
  bool m_direct = false;
};

}  // namespace dk::fmt::qed
