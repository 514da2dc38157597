// The qcow2 Layer. Implementation split by concern:
//   header.cc (header + extensions), open.cc (open/validate/driver table),
//   cache.cc (metadata cache + host I/O), cluster.cc (L1/L2 lookup),
//   read.cc (read, block_status), write.cc (allocating writes, zeroes,
//   discard, truncate), refcount.cc (refcounts and allocation),
//   compress.cc (zlib/zstd), snapshot.cc (snapshot table), create.cc,
//   repair.cc (refcount rebuild), info.cc (metadata getters).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "formats/core/file.h"
#include "formats/driver.h"
#include "formats/layer.h"
#include "formats/convert/convert.h"
#include "formats/qcow2/format.h"

namespace dk::fmt::qcow2 {

// A cache of cluster-sized metadata tables (L2 tables, refcount blocks)
// keyed by host offset, evicting the least recently used clean-or-written entry.
struct CacheEntry {
  uint64_t offset = 0;
  std::vector<std::byte> data;
  bool dirty = false;
  uint64_t last_use = 0;
};

class MetaCache {
 public:
  explicit MetaCache(size_t capacity) : m_capacity(capacity) {}
  CacheEntry* find(uint64_t off);
  // Inserts a new entry (caller evicted first when full()).
  CacheEntry* insert(uint64_t off, std::vector<std::byte> data);
  bool full() const { return m_map.size() >= m_capacity; }
  // The least recently used entry other than `keep`, or nullptr.
  CacheEntry* victim(uint64_t keep);
  void erase(uint64_t off) { m_map.erase(off); }
  template <class F>
  void for_each(F f) {
    for (auto& [k, e] : m_map) f(*e);
  }
  size_t size() const { return m_map.size(); }

 private:
  size_t m_capacity;
  uint64_t m_clock = 0;
  std::unordered_map<uint64_t, std::unique_ptr<CacheEntry>> m_map;
};

// Kinds of (sub)cluster, as QEMU's QCow2SubclusterType.
enum class Sub : uint8_t {
  kUnallocPlain,
  kUnallocAlloc,
  kZeroPlain,
  kZeroAlloc,
  kNormal,
  kCompressed,
  kInvalid,
};

// The state of a run of guest bytes found by lookup().
struct Mapping {
  Sub type = Sub::kUnallocPlain;
  uint64_t host = 0;      // host offset of the first byte (kNormal, *Alloc)
  uint64_t bytes = 0;     // length of the run
  uint64_t l2_entry = 0;  // the raw descriptor (kCompressed)
};

struct SnapshotRecord {
  SnapshotInfo info;
  uint64_t l1_table_offset = 0;
  uint32_t l1_size = 0;
  std::vector<uint8_t> extra;  // raw extra data
};

class Qcow2Layer final : public Layer, public SplitCompression, public HostMapped, public DeferredWrites {
 public:
  static Result<std::unique_ptr<Layer>> open(const std::string& path, const OpenOptions& opts);
  ~Qcow2Layer() override;

  std::string_view format_name() const override { return "qcow2"; }
  uint64_t size() const override { return m_info.h.size; }
  std::optional<uint64_t> cluster_size() const override { return m_cs; }
  std::string backing_filename() const override { return m_info.backing_file; }
  std::string backing_format() const override { return m_info.backing_format; }
  bool dirty() const override { return m_info.h.incompatible_features & kIncompatDirty; }
  std::vector<SnapshotInfo> snapshots() const override;
  nlohmann::ordered_json format_specific() const override;
  Result<uint64_t> actual_size() const override;
  uint64_t max_transfer() const override { return 64u << 20; }
  Result<void> set_backing_file(const std::string& name, const std::string& fmt) override;
  // empty.cc (commit): drops every L2 table of the active L1 (see Layer).
  Result<void> make_empty() override;
 private:
  Result<void> sync_and_punch();  // empty.cc: sync_all, then punch clusters left unreferenced
 public:

  // Rebuilds the refcounts from the L1/L2/snapshot tables and all metadata
  // (fixes leaks and wrong counts). `leaks_fixed`/`errors_fixed` count the
  // clusters changed. Used on open of a dirty image and by `check -r`.
  struct RepairResult {
    uint64_t leaks_fixed = 0;
    uint64_t errors_fixed = 0;
  };
  Result<RepairResult> repair_refcounts();

  // `qemu-img check` (check.cc, QEMU's qcow2_check_refcounts): counts every
  // reference, compares with the stored refcounts, checks OFLAG_COPIED and,
  // with fix, repairs leaks / errors (rebuilding the refcount structure when
  // a used cluster has refcount 0). Messages are QEMU's.
  using CheckResult = CheckReport;
  Result<CheckReport> check(CheckFix fix) override;
  friend class Checker;
  // Grows a freshly created image to new_size and preallocates
  // (mode: 0 off, 1 metadata, 2 falloc, 3 full).
  Result<void> preallocate(uint64_t new_size, int mode);

  // ---- amend.cc: `qemu-img amend` (compat, lazy_refcounts, refcount_bits,
  // size; backing and data file names only as far as QEMU allows) ----
  struct AmendSpec {
    // Values as given; amend() checks them in QEMU's order and wording.
    std::optional<std::string> compat;      // 0.10|v2 or 1.1|v3
    std::optional<bool> lazy_refcounts;
    std::optional<uint64_t> refcount_bits;  // power of two, 1..64
    uint64_t size = 0;                      // 0: unchanged (as QEMU)
    std::optional<std::string> backing_file, backing_fmt;
    std::optional<std::string> data_file;
    std::optional<bool> data_file_raw;
    bool encryption = false;  // some encrypt.* option was given
  };
  // Applies `spec` in QEMU's order (upgrade, refcount width, header, lazy
  // refcounts, size, downgrade) with QEMU's refusals. Every step is crash
  // safe: new structures are written and flushed before the header points
  // at them; old ones are freed afterwards. `progress` gets 0..100.
  Result<void> amend(const AmendSpec& spec, const std::function<void(double)>& progress);

 private:
  Result<void> amend_upgrade(const std::function<void(double)>& progress);
  Result<void> amend_downgrade(const std::function<void(double)>& progress);
  Result<void> change_refcount_order(uint32_t order, const std::function<void(double)>& progress);
  Result<void> expand_zero_clusters(const std::function<void(double)>& progress);
  Result<void> expand_zero_in_l2(uint64_t l2_offset);
  Result<bool> has_compressed_clusters();
  Result<std::vector<std::vector<uint64_t>>> all_l1_tables();
  Result<void> switch_refcount_structures(uint32_t order, uint64_t table_offset, uint64_t table_clusters,
                                          std::vector<uint64_t> new_rt, uint64_t meta_end);
  Result<std::pair<uint64_t, uint64_t>> write_snapshot_table_v3();
  Result<void> write_header_in_place(uint64_t old_used);
  Result<uint64_t> header_used_bytes();

 public:

 protected:
  Result<void> do_read(uint64_t off, std::span<std::byte> out) override;
  Result<void> do_write(uint64_t off, std::span<const std::byte> in) override;
  Result<void> do_write_zeroes(uint64_t off, uint64_t len, bool may_unmap) override;
  Result<void> do_discard(uint64_t off, uint64_t len) override;
  Result<void> do_flush() override;
  Result<Extent> do_block_status(uint64_t off, uint64_t len) override;
  Result<void> do_write_compressed(uint64_t off, std::span<const std::byte> in) override;

 public:
  // SplitCompression (convert -c compresses on every core): compress_cluster
  // may run on any thread; write_compressed_payload stores its result.
  Result<std::optional<std::vector<std::byte>>> compress_cluster(std::span<const std::byte> in) const override;
  Result<void> write_compressed_payload(uint64_t off, std::span<const std::byte> payload) override;
  // HostMapped (convert maps plain data clusters instead of reading them).
  Result<Run> host_run(uint64_t off, uint64_t len) override;
  // DeferredWrites (convert copies fresh clusters' data from its workers).
  Result<void> write_deferred(uint64_t off, std::span<const std::byte> in, std::vector<Write>& out) override;

 protected:
  Result<void> do_truncate(uint64_t new_size, bool shrink_allowed) override;

 private:
  Qcow2Layer(std::string filename, bool writable) : Layer(std::move(filename), writable) {}
  friend struct Opener;

  // ---- open.cc ----
  Result<void> load(const OpenOptions& opts);
  Result<void> load_tables();
  Result<void> open_data_file(const OpenOptions& opts);
  Result<void> writable_open_fixups();
  Result<void> write_header();
  Result<void> close_clean();

  // ---- cache.cc: host I/O (bounced when O_DIRECT) ----
  Result<void> io_read(const File& f, uint64_t off, std::span<std::byte> out) const;
  Result<void> io_write(File& f, uint64_t off, std::span<const std::byte> in);
  File& data_file() { return m_data.is_open() ? m_data : m_file; }
  const File& data_file() const { return m_data.is_open() ? m_data : m_file; }
  Result<CacheEntry*> l2_load(uint64_t off, bool for_write);
  Result<CacheEntry*> rb_load(uint64_t off);
  Result<void> l2_writeback(CacheEntry& e);
  Result<void> write_back_dirty(MetaCache& cache);
  Result<void> flush_refcount_blocks();
  Result<void> flush_l2_tables();
  Result<void> write_l1();
  Result<void> sync_all();

  // ---- cluster.cc ----
  uint64_t l2_entries() const { return m_cs / (m_ext_l2 ? 16 : 8); }
  Result<uint64_t> check_l2_offset(uint64_t l1_entry) const;
  Result<Mapping> lookup(const std::vector<uint64_t>& l1, uint64_t off, uint64_t max, bool merge_compressed);
  Sub classify(uint64_t entry, uint64_t bitmap, uint32_t sc) const;
  Result<void> validate_entry(uint64_t entry, uint64_t bitmap, uint64_t guest) const;

  // ---- read.cc ----
  Result<void> read_compressed(uint64_t l2_entry, std::vector<std::byte>& out);
  Result<bool> metadata_preallocated();

  // ---- write.cc ----
  Result<CacheEntry*> l2_for_write(uint64_t l1_index);
  Result<void> write_in_l2(uint64_t off, std::span<const std::byte> in);
  Result<void> write_cluster(CacheEntry* l2, uint64_t idx, uint64_t guest, uint32_t a, uint32_t b,
                             const std::byte* src);
  Result<void> fill_region(uint64_t guest, uint64_t entry, uint64_t bitmap, uint32_t from, uint32_t to,
                           std::byte* dst);
  Result<void> mark_dirty_if_lazy();
  Result<void> zero_in_l2(uint64_t off, uint64_t len, bool unmap, bool discard);
  void release_entry(uint64_t entry);
  Result<uint64_t> alloc_data(uint64_t guest, uint64_t n);
  Result<void> store_entry(CacheEntry* t, uint64_t idx, uint64_t entry, uint64_t bitmap);
  bool in_place(uint64_t entry) const;
  Result<void> grow_l1(uint64_t new_l1_size);
  // resize.cc: points the cluster at guest `off` at a new compressed payload.
  Result<void> store_compressed(uint64_t off, std::span<const std::byte> comp);

  // ---- refcount.cc ----
  Result<uint64_t> get_refcount(uint64_t cluster);
  Result<void> set_refcount(uint64_t cluster, uint64_t value);
  Result<void> add_refcount(uint64_t cluster, int64_t delta);
  Result<uint64_t> alloc_clusters(uint64_t n);
  Result<uint64_t> alloc_bytes(uint64_t n);
  Result<void> ensure_refblock(uint64_t rt_index, uint64_t hint_cluster, bool& created);
  Result<void> grow_refcount_table(uint64_t needed_index);
  Result<void> refcount_area(uint64_t cover_start, uint64_t cover_end);
  void free_later(uint64_t off, uint64_t bytes);
  Result<void> apply_pending_frees();
  Result<uint64_t> file_end_cluster();
  Result<void> create_refblock(uint64_t rt_index, uint64_t cluster);
  Result<std::vector<uint64_t>> count_references(CheckResult* cr = nullptr);
  Result<void> fix_copied_flags(CheckResult* cr, bool fix);

  // ---- snapshot.cc ----
  Result<void> load_snapshots();
  Result<void> select_snapshot(const std::string& id_or_name);

  // ---- snapshot_write.cc: creating, applying and deleting internal snapshots ----
 public:
  Result<std::string> snapshot_create(const SnapshotInfo& sn) override;
  Result<void> snapshot_apply(const std::string& id_or_name) override;
  Result<void> snapshot_delete(const std::string& id, const std::string& name) override;

 private:
  Result<void> snapshots_writable();
  Result<std::vector<uint64_t>> read_l1_table(uint64_t off, uint32_t entries);
  // Clusters one walk of `l1` references (L2 tables, data, compressed), one
  // entry per reference, sorted: QEMU counts one reference per L1 walk.
  Result<std::vector<uint64_t>> tree_references(const std::vector<uint64_t>& l1);
  // Fails, changing nothing, when adding `delta` (+1/-1) per listed reference
  // would overflow a refcount or take it below zero.
  Result<void> check_refcount_change(const std::vector<uint64_t>& refs, int delta);
  // Adds `delta` per listed reference; clusters reaching zero go to `freed`.
  Result<void> change_refcounts(const std::vector<uint64_t>& refs, int delta, std::vector<uint64_t>& freed);
  // Writes `snaps` as a new snapshot table, points the header at it and frees
  // the old one (its clusters are appended to `freed`).
  Result<void> write_snapshot_table(std::vector<SnapshotRecord> snaps, std::vector<uint64_t>& freed);
  Result<void> punch_freed(std::vector<uint64_t> freed);

  // Geometry.
  HeaderInfo m_info;
  File m_file;
  File m_data;
  std::string m_data_path;
  uint32_t m_cluster_bits = 16;
  uint64_t m_cs = 65536;
  bool m_ext_l2 = false;
  uint64_t m_sc_size = 65536;  // subcluster size (== cluster size without extended L2)
  uint32_t m_refcount_bits = 16;
  uint64_t m_rb_entries = 32768;  // refcount entries per refcount block
  bool m_direct = false;
  bool m_data_raw = false;
  uint8_t m_comp_type = kCompressionZlib;  // fixed at open; read by compression threads

  std::vector<uint64_t> m_l1;
  bool m_l1_dirty = false;
  std::vector<uint64_t> m_rt;  // refcount table
  std::vector<SnapshotRecord> m_snaps;
  bool m_at_snapshot = false;
  uint64_t m_snap_table_bytes = 0;

  MetaCache m_l2_cache{256};
  MetaCache m_rb_cache{64};
  uint64_t m_free_cluster_index = 0;
  uint64_t m_free_byte_offset = 0;  // next free byte in the current compressed cluster (0: none)
  std::vector<std::pair<uint64_t, uint64_t>> m_pending_free;  // (offset, bytes), applied after L2s reach disk
  bool m_marked_dirty = false;
  bool m_need_sync = false;  // data/refcounts written since the last barrier
  std::optional<bool> m_meta_prealloc;
  const std::vector<uint64_t>* m_repair_busy = nullptr;  // set while repairing
  std::string m_name;  // quoted in errors
  uint64_t m_file_size = 0;  // image file size, kept current by io_write/truncate
  uint32_t m_l2_bits = 13;   // log2(l2_entries())
  uint64_t m_alloc_high = 0;  // one past the highest cluster allocated this session
  uint64_t m_comp_entry = 0;  // descriptor of the cluster held in m_comp_buf (0: none)
  std::vector<std::byte> m_comp_buf;
  // Set during write_deferred: fresh whole-cluster data writes go here.
  std::vector<DeferredWrites::Write>* m_defer = nullptr;
  Result<void> write_fresh_data(uint64_t host, std::span<const std::byte> in);
};

// compress.cc
Result<std::vector<std::byte>> compress_cluster(uint8_t type, std::span<const std::byte> in);
// Decompresses into exactly out.size() bytes; input may carry trailing bytes.
Result<void> decompress_cluster(uint8_t type, std::span<const std::byte> in, std::span<std::byte> out);

// refcount.cc: entry idx of a refcount block whose entries are `bits` wide
// (sub-byte widths fill each byte from its least significant bit, as QEMU).
uint64_t refcount_entry(const std::byte* block, uint64_t idx, uint32_t bits);
void set_refcount_entry(std::byte* block, uint64_t idx, uint32_t bits, uint64_t v);

// create.cc
Result<void> create(const std::string& path, const CreateSpec& spec);
extern const OptionDesc kCreateOptions[];
extern const size_t kCreateOptionCount;

// amend.cc: the -o options `qemu-img amend` accepts for qcow2 (listed by -o
// help), and their parsing from "key=value" items in command-line order
// with QEMU's messages (unknown, creation-only and malformed options).
extern const OptionDesc kAmendOptions[];
extern const size_t kAmendOptionCount;
Result<Qcow2Layer::AmendSpec> parse_amend_options(const std::vector<std::pair<std::string, std::string>>& items);

}  // namespace dk::fmt::qcow2
