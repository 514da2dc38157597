// Refcount repair: recount every reference (header, L1/L2 tables of the
// active state and of each snapshot, data and compressed clusters, the
// snapshot table, the refcount table and blocks) and make the stored
// refcounts match. Used when a lazy-refcounts image was left dirty.
#include <algorithm>

#include "formats/core/checked_math.h"
#include "formats/core/endian.h"
#include "formats/qcow2/qcow2.h"

namespace dk::fmt::qcow2 {

namespace {
constexpr uint64_t kMaxRepairClusters = 1ull << 28;
}

Result<std::vector<uint64_t>> Qcow2Layer::count_references(CheckResult* cr) {
  std::vector<uint64_t> ref(div_round_up(m_file_size, m_cs));
  auto inc = [&](uint64_t off, uint64_t len) -> Result<void> {
    if (len == 0) return {};
    uint64_t last = (off + len - 1) / m_cs;
    if (last >= kMaxRepairClusters || (cr && off + len > align_up(m_file_size, m_cs) + m_cs)) {
      if (!cr)
        return make_error(EFBIG, m_name + ": reference to offset " + hex(off) + " is too far beyond the end of the file");
      cr->messages.push_back("ERROR: reference to offset " + hex(off) + " beyond the end of the image file");
      ++cr->corruptions;
      return {};
    }
    if (last >= ref.size()) ref.resize(last + 1);
    for (uint64_t c = off / m_cs; c <= last; ++c) ++ref[c];
    return {};
  };
  DK_TRY(inc(0, m_cs));
  const uint32_t esize = m_ext_l2 ? 16 : 8;
  const uint32_t shift = 62 - (m_cluster_bits - 8);
  uint64_t next_contiguous = 0;
  auto walk_l1 = [&](const std::vector<uint64_t>& l1, bool active) -> Result<void> {
    for (uint64_t l1e : l1) {
      auto l2r = check_l2_offset(l1e);
      uint64_t l2 = l2r ? *l2r : 0;
      if (!l2r || (l2 && l2 >= m_file_size)) {
        if (!cr) return tl::unexpected(l2r ? Error{EIO, m_name + ": L2 table beyond the end of the file"} : l2r.error());
        cr->messages.push_back("ERROR l2_offset=" + hex(l1e & kL1OffsetMask) + ": invalid L2 table offset");
        ++cr->corruptions;
        continue;
      }
      if (!l2) continue;
      DK_TRY(inc(l2, m_cs));
      CacheEntry* t = DK_TRY(l2_load(l2, false));
      std::vector<std::byte> data = t->data;
      for (uint64_t i = 0; i < l2_entries(); ++i) {
        uint64_t e = load_be64(data.data() + i * esize);
        if (e & kOflagCompressed) {
          uint64_t coff = e & ((1ull << shift) - 1);
          uint64_t nb = ((e >> shift) & ((1ull << (m_cluster_bits - 8)) - 1)) + 1;
          DK_TRY(inc(coff, nb * 512 - (coff & 511)));
          // Compressed clusters count as fragmented, as in QEMU.
          if (cr && active) ++cr->allocated_clusters, ++cr->compressed_clusters, ++cr->fragmented_clusters;
        } else if ((e & kL2OffsetMask) || (m_data.is_open() && (e & kOflagCopied))) {
          uint64_t host = e & kL2OffsetMask;
          if (host % m_cs) {
            if (!cr) return make_error(EIO, m_name + ": unaligned cluster offset " + hex(host));
            cr->messages.push_back("ERROR offset=" + hex(host) + ": Cluster is not properly aligned; L2 entry corrupted.");
            ++cr->corruptions;
            continue;
          }
          if (!m_data.is_open()) DK_TRY(inc(host, m_cs));
          if (cr && active) {
            ++cr->allocated_clusters;
            if (next_contiguous && host != next_contiguous) ++cr->fragmented_clusters;
            next_contiguous = host + m_cs;
          }
        }
      }
    }
    return {};
  };
  std::vector<uint64_t> active = m_l1;
  if (m_at_snapshot) {
    std::vector<std::byte> buf(uint64_t(m_info.h.l1_size) * 8);
    DK_TRY(io_read(m_file, m_info.h.l1_table_offset, buf));
    active.assign(m_info.h.l1_size, 0);
    for (size_t i = 0; i < active.size(); ++i) active[i] = load_be64(buf.data() + i * 8);
  }
  DK_TRY(inc(m_info.h.l1_table_offset, active.size() * 8));
  DK_TRY(walk_l1(active, true));
  for (const SnapshotRecord& s : m_snaps) {
    DK_TRY(inc(s.l1_table_offset, uint64_t(s.l1_size) * 8));
    std::vector<std::byte> buf(uint64_t(s.l1_size) * 8);
    DK_TRY(io_read(m_file, s.l1_table_offset, buf));
    std::vector<uint64_t> l1(s.l1_size);
    for (size_t i = 0; i < l1.size(); ++i) l1[i] = load_be64(buf.data() + i * 8);
    DK_TRY(walk_l1(l1, false));
  }
  if (m_info.h.nb_snapshots) DK_TRY(inc(m_info.h.snapshots_offset, m_snap_table_bytes));
  DK_TRY(inc(m_info.h.refcount_table_offset, uint64_t(m_info.h.refcount_table_clusters) * m_cs));
  for (uint64_t e : m_rt)
    if (e & kRefTableOffsetMask) DK_TRY(inc(e & kRefTableOffsetMask, m_cs));
  return ref;
}

Result<Qcow2Layer::RepairResult> Qcow2Layer::repair_refcounts() {
  if (!writable()) return make_error(EROFS, m_name + ": image is opened read-only");
  DK_TRY(sync_all());
  RepairResult res;
  std::vector<uint64_t> ref;
  // Make sure a refcount block covers every referenced cluster; each new
  // block changes the references, so count again until nothing changes.
  for (int round = 0;; ++round) {
    if (round > 64) return make_error(EIO, m_name + ": refcount repair does not converge");
    ref = DK_TRY(count_references());
    m_repair_busy = &ref;
    bool changed = false;
    for (uint64_t r = 0; r * m_rb_entries < ref.size() && !changed; ++r) {
      uint64_t lo = r * m_rb_entries, hi = std::min<uint64_t>(ref.size(), lo + m_rb_entries);
      if (std::all_of(ref.begin() + lo, ref.begin() + hi, [](uint64_t v) { return v == 0; })) continue;
      if (r >= m_rt.size()) {
        auto g = grow_refcount_table(r);
        if (!g) { m_repair_busy = nullptr; return tl::unexpected(g.error()); }
        changed = true;
      } else if ((m_rt[r] & kRefTableOffsetMask) == 0) {
        uint64_t c = lo == 0 ? 1 : lo;
        while (c < hi && ref[c]) ++c;
        auto cr = create_refblock(r, c);
        if (!cr) { m_repair_busy = nullptr; return tl::unexpected(cr.error()); }
        changed = true;
      }
    }
    m_repair_busy = nullptr;
    if (!changed) break;
  }
  for (uint64_t r = 0; r < m_rt.size(); ++r) {
    if (!(m_rt[r] & kRefTableOffsetMask)) continue;
    for (uint64_t c = r * m_rb_entries; c < (r + 1) * m_rb_entries; ++c) {
      uint64_t want = c < ref.size() ? ref[c] : 0;
      uint64_t have = DK_TRY(get_refcount(c));
      if (have == want) continue;
      DK_TRY(set_refcount(c, want));
      if (have > want) ++res.leaks_fixed;
      else ++res.errors_fixed;
    }
  }
  m_free_cluster_index = 0;
  DK_TRY(fix_copied_flags(nullptr, true));
  DK_TRY(sync_all());
  return res;
}

// OFLAG_COPIED must be set exactly on active L1/L2 entries whose cluster
// has refcount 1 (writes rely on it to decide between in-place and COW).
Result<void> Qcow2Layer::fix_copied_flags(CheckResult* cr, bool fix) {
  if (m_at_snapshot) return {};
  const uint32_t esize = m_ext_l2 ? 16 : 8;
  for (size_t i = 0; i < m_l1.size(); ++i) {
    auto l2r = check_l2_offset(m_l1[i]);
    if (!l2r || !*l2r || *l2r >= m_file_size) continue;
    const uint64_t l2 = *l2r;
    uint64_t rc = DK_TRY(get_refcount(l2 / m_cs));
    bool want = rc == 1;
    if (want != bool(m_l1[i] & kOflagCopied)) {
      if (cr) {
        cr->messages.push_back((fix ? "Repairing" : "ERROR") + std::string(" OFLAG_COPIED L2 cluster: l1_index=") +
                               std::to_string(i) + " l1_entry=" + hex(m_l1[i]).substr(2) + " refcount=" + std::to_string(rc));
        if (!fix) ++cr->corruptions;
      }
      if (fix) {
        m_l1[i] = want ? (m_l1[i] | kOflagCopied) : (m_l1[i] & ~kOflagCopied);
        m_l1_dirty = true;
        if (cr) ++cr->corruptions_fixed;
      }
    }
    CacheEntry* t = DK_TRY(l2_load(l2, false));
    for (uint64_t k = 0; k < l2_entries(); ++k) {
      uint64_t e = load_be64(t->data.data() + k * esize);
      if ((e & kOflagCompressed) || !(e & kL2OffsetMask) || m_data.is_open()) continue;
      uint64_t drc = DK_TRY(get_refcount((e & kL2OffsetMask) / m_cs));
      // get_refcount may have evicted nothing from the L2 cache (separate caches).
      bool dwant = drc == 1;
      if (dwant == bool(e & kOflagCopied)) continue;
      if (cr) {
        cr->messages.push_back((fix ? "Repairing" : "ERROR") + std::string(" OFLAG_COPIED data cluster: l2_entry=") +
                               hex(e).substr(2) + " refcount=" + std::to_string(drc));
        if (!fix) ++cr->corruptions;
      }
      if (fix) {
        e = dwant ? (e | kOflagCopied) : (e & ~kOflagCopied);
        store_be64(t->data.data() + k * esize, e);
        t->dirty = true;
        if (cr) ++cr->corruptions_fixed;
      }
    }
  }
  return {};
}

}  // namespace dk::fmt::qcow2
