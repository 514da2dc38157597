// Emptying the active layer (`commit` without -d): every guest cluster
// becomes unallocated, so reads fall through to the backing file again.
//
// The active L1 table drops its L2 tables; each dropped table gives back one
// reference to itself and one to every cluster it maps (a cluster's refcount
// counts the L1 tables — active and snapshots — that reach it, so tables and
// clusters shared with a snapshot keep the snapshot's references). QEMU
// instead rebuilds a snapshot-free v3 image from scratch or discards every
// cluster in place; both end with the same guest view and a clean check.
//
// Crash safety: the zeroed L1 entries reach the disk (flushed) before any
// refcount drops, so a crash in between leaves only leaked clusters, which
// `check -r leaks` reclaims; nothing ever points at a freed cluster.
#include "formats/core/endian.h"
#include "formats/qcow2/qcow2.h"

namespace dk::fmt::qcow2 {

namespace {
// Pending frees after which the dropped L1 entries are written and the
// frees applied (bounds memory on huge images: 16 bytes per cluster).
constexpr size_t kEmptyBatch = 1u << 16;
}  // namespace

Result<void> Qcow2Layer::make_empty() {
  if (!writable()) return make_error(EROFS, m_name + ": image is opened read-only");
  // Whatever earlier writes left in the caches must be on disk before the
  // tables that point at it are dropped.
  DK_TRY(sync_all());
  DK_TRY(mark_dirty_if_lazy());
  m_comp_entry = 0;
  m_free_byte_offset = 0;
  m_meta_prealloc.reset();  // the answer may change once the tables are gone
  const uint32_t esize = m_ext_l2 ? 16 : 8;
  for (size_t i = 0; i < m_l1.size(); ++i) {
    const uint64_t l2off = DK_TRY(check_l2_offset(m_l1[i]));
    if (l2off == 0) {
      if (m_l1[i]) {
        // A stray COPIED flag without a table: clear it too.
        m_l1[i] = 0;
        m_l1_dirty = true;
      }
      continue;
    }
    const CacheEntry* t = DK_TRY(l2_load(l2off, false));
    for (uint64_t idx = 0; idx < l2_entries(); ++idx) {
      const uint64_t entry = load_be64(t->data.data() + idx * esize);
      // release_entry frees compressed payloads and host clusters (zero
      // clusters with a preallocated offset included); an external data
      // file has no refcounts, so nothing is freed there.
      if ((entry & kOflagCompressed) || (entry & kL2OffsetMask)) release_entry(entry);
    }
    free_later(l2off, m_cs);
    m_l1[i] = 0;
    m_l1_dirty = true;
    if (m_pending_free.size() >= kEmptyBatch) DK_TRY(sync_and_punch());
  }
  return sync_and_punch();
}

// sync_all writes the L1 table, flushes, then applies the frees; clusters
// no snapshot holds any more are then given back to the host file system
// (QEMU passes these discards down too). A failed punch loses nothing.
Result<void> Qcow2Layer::sync_and_punch() {
  const auto freed = m_pending_free;
  DK_TRY(sync_all());
  bool punched = false;
  for (const auto& [off, bytes] : freed) {
    for (uint64_t c = off / m_cs; c <= (off + bytes - 1) / m_cs; ++c) {
      if (DK_TRY(get_refcount(c)) != 0) continue;
      // A freed but unreferenced cluster may go; ignore file systems without hole punching.
      (void)m_file.punch_hole(c * m_cs, m_cs);
      punched = true;
    }
  }
  // Nothing may stay unflushed once the command reports success.
  if (punched) DK_TRY(m_file.flush());
  return {};
}

}  // namespace dk::fmt::qcow2
