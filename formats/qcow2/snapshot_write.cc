// Creating, applying (reverting to) and deleting internal snapshots.
//
// Refcounts follow QEMU: every walk of an L1 table (the active one and each
// snapshot's) adds one reference to each L2 table it reaches and, through
// each of those tables, one to each data or compressed cluster. A snapshot
// therefore costs one more reference on everything the active state uses,
// and OFLAG_COPIED (refcount == 1) is recomputed on the active tables after
// every change.
//
// Crash safety: increments reach the disk (refcount blocks, then fsync)
// before any table that needs them is referenced; the switch to a new
// snapshot table or a new active L1 is one small header write made after the
// new table is on disk; decrements are made only after the header no longer
// points at what they release. A kill -9 at any point therefore leaves at
// worst leaked clusters or stale COPIED flags, both of which `check -r all`
// repairs, and never a cluster in use with too low a refcount.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <unordered_set>

#include "formats/core/checked_math.h"
#include "formats/core/endian.h"
#include "formats/qcow2/qcow2.h"

namespace dk::fmt::qcow2 {

namespace {

// QEMU 7.2's known extra data: vm_state_size_large, disk_size, icount.
constexpr uint32_t kKnownExtraBytes = 24;
constexpr uint64_t kNoIcount = UINT64_MAX;

// The clusters covering [off, off + len).
void add_range(std::vector<uint64_t>& refs, uint64_t off, uint64_t len, uint64_t cs) {
  if (len == 0) return;
  for (uint64_t c = off / cs; c <= (off + len - 1) / cs; ++c) refs.push_back(c);
}

}  // namespace

Result<void> Qcow2Layer::snapshots_writable() {
  if (!writable()) return make_error(EROFS, m_name + ": image is opened read-only");
  // QEMU refuses internal snapshots with an external data file: its data
  // clusters have no refcounts, so nothing could be shared safely.
  if (m_data.is_open())
    return make_error(ENOTSUP, m_name + ": internal snapshots are not supported with an external data file");
  if (m_at_snapshot) return make_error(EINVAL, m_name + ": image is opened as of a snapshot");
  return {};
}

Result<std::vector<uint64_t>> Qcow2Layer::read_l1_table(uint64_t off, uint32_t entries) {
  const uint64_t bytes = uint64_t(entries) * 8;
  if (bytes > kMaxL1Bytes) return make_error(EFBIG, m_name + ": snapshot L1 table too large");
  if (entries && (off % m_cs || off < m_cs || !range_within(off, bytes, m_file_size)))
    return make_error(EIO, m_name + ": L1 table offset " + hex(off) + " is invalid or beyond the end of the file");
  std::vector<std::byte> buf(bytes);
  if (bytes) DK_TRY(io_read(m_file, off, buf));
  std::vector<uint64_t> l1(entries);
  for (uint32_t i = 0; i < entries; ++i) l1[i] = load_be64(buf.data() + uint64_t(i) * 8);
  return l1;
}

Result<std::vector<uint64_t>> Qcow2Layer::tree_references(const std::vector<uint64_t>& l1) {
  std::vector<uint64_t> refs;
  // A table met twice in one walk is corruption; refusing it also bounds
  // `refs` by the number of entries the file can hold.
  std::unordered_set<uint64_t> seen;
  const uint32_t esize = m_ext_l2 ? 16 : 8;
  const uint32_t shift = 62 - (m_cluster_bits - 8);
  for (uint64_t l1e : l1) {
    const uint64_t l2 = DK_TRY(check_l2_offset(l1e));
    if (!l2) continue;
    if (l2 >= m_file_size)
      return make_error(EIO, m_name + ": L2 table offset " + hex(l2) + " is beyond the end of the file (image is corrupt)");
    if (!seen.insert(l2).second)
      return make_error(EIO, m_name + ": L2 table " + hex(l2) + " is used twice by one L1 table (image is corrupt)");
    refs.push_back(l2 / m_cs);
    CacheEntry* t = DK_TRY(l2_load(l2, false));
    const std::byte* base = t->data.data();
    for (uint64_t i = 0; i < l2_entries(); ++i) {
      const uint64_t e = load_be64(base + i * esize);
      if (e & kOflagCompressed) {
        const uint64_t coff = e & ((1ull << shift) - 1);
        const uint64_t nb = ((e >> shift) & ((1ull << (m_cluster_bits - 8)) - 1)) + 1;
        if (coff >= m_file_size)
          return make_error(EIO, m_name + ": compressed cluster at " + hex(coff) +
                                     " is beyond the end of the file (image is corrupt)");
        add_range(refs, coff, nb * 512 - (coff & 511), m_cs);
      } else if (const uint64_t host = e & kL2OffsetMask) {
        if (host % m_cs || host >= m_file_size)
          return make_error(EIO, m_name + ": data cluster offset " + hex(host) +
                                     " is unaligned or beyond the end of the file (image is corrupt)");
        refs.push_back(host / m_cs);
      }
    }
  }
  std::sort(refs.begin(), refs.end());
  return refs;
}

Result<void> Qcow2Layer::check_refcount_change(const std::vector<uint64_t>& refs, int delta) {
  const uint64_t max = m_refcount_bits == 64 ? UINT64_MAX : (1ull << m_refcount_bits) - 1;
  for (size_t i = 0, j; i < refs.size(); i = j) {
    for (j = i; j < refs.size() && refs[j] == refs[i]; ++j) {
    }
    const uint64_t c = refs[i], n = j - i;
    const uint64_t cur = DK_TRY(get_refcount(c));
    if (delta > 0 && cur == 0)
      return make_error(EIO, m_name + ": cluster " + std::to_string(c) +
                                 " is in use but has refcount 0 (image is corrupt; check -r all repairs it)");
    if (delta > 0 && n > max - cur)
      return make_error(EINVAL, m_name + ": refcount of cluster " + std::to_string(c) + " would exceed " +
                                    std::to_string(max) + " (" + std::to_string(m_refcount_bits) + "-bit refcounts)");
    if (delta < 0 && cur < n)
      return make_error(EIO, m_name + ": refcount of cluster " + std::to_string(c) +
                                 " would become negative (image is corrupt; check -r all repairs it)");
  }
  return {};
}

Result<void> Qcow2Layer::change_refcounts(const std::vector<uint64_t>& refs, int delta, std::vector<uint64_t>& freed) {
  for (size_t i = 0, j; i < refs.size(); i = j) {
    for (j = i; j < refs.size() && refs[j] == refs[i]; ++j) {
    }
    const uint64_t c = refs[i], n = j - i;
    const uint64_t cur = DK_TRY(get_refcount(c));
    if (delta < 0 && cur < n)
      return make_error(EIO, m_name + ": refcount of cluster " + std::to_string(c) + " would become negative");
    const uint64_t v = delta > 0 ? cur + n : cur - n;
    if (delta > 0 && v < cur) return make_error(EINVAL, m_name + ": refcount of cluster " + std::to_string(c) + " overflows");
    DK_TRY(set_refcount(c, v));
    if (v == 0) {
      freed.push_back(c);
      // A freed table must not be served from the cache once reused.
      m_l2_cache.erase(c * m_cs);
      if (m_free_byte_offset / m_cs == c) m_free_byte_offset = 0;
    }
  }
  return {};
}

Result<void> Qcow2Layer::write_snapshot_table(std::vector<SnapshotRecord> snaps, std::vector<uint64_t>& freed) {
  std::vector<std::byte> buf;
  for (const SnapshotRecord& s : snaps) {
    if (s.info.id.size() > UINT16_MAX || s.info.name.size() > UINT16_MAX)
      return make_error(EINVAL, m_name + ": snapshot id or name too long");
    // The known fields are rewritten from their values; unknown extra data
    // after them is kept, as QEMU does.
    std::vector<uint8_t> extra(kKnownExtraBytes);
    store_be64(extra.data(), s.info.vm_state_size);
    store_be64(extra.data() + 8, s.info.disk_size);
    store_be64(extra.data() + 16, s.info.icount ? *s.info.icount : kNoIcount);
    if (s.extra.size() > kKnownExtraBytes) extra.insert(extra.end(), s.extra.begin() + kKnownExtraBytes, s.extra.end());
    const size_t at = align_up(buf.size(), 8);
    buf.resize(at + 40 + extra.size() + s.info.id.size() + s.info.name.size());
    std::byte* p = buf.data() + at;
    store_be64(p, s.l1_table_offset);
    store_be32(p + 8, s.l1_size);
    store_be16(p + 12, static_cast<uint16_t>(s.info.id.size()));
    store_be16(p + 14, static_cast<uint16_t>(s.info.name.size()));
    store_be32(p + 16, static_cast<uint32_t>(s.info.date_sec));
    store_be32(p + 20, static_cast<uint32_t>(s.info.date_nsec));
    store_be64(p + 24, s.info.vm_clock_nsec);
    store_be32(p + 32, static_cast<uint32_t>(s.info.vm_state_size));
    store_be32(p + 36, static_cast<uint32_t>(extra.size()));
    std::memcpy(p + 40, extra.data(), extra.size());
    std::memcpy(p + 40 + extra.size(), s.info.id.data(), s.info.id.size());
    std::memcpy(p + 40 + extra.size() + s.info.id.size(), s.info.name.data(), s.info.name.size());
    if (buf.size() > kMaxSnapshotTableBytes) return make_error(EFBIG, m_name + ": snapshot table too large");
  }
  uint64_t off = 0;
  if (!snaps.empty()) {
    off = DK_TRY(alloc_clusters(div_round_up(buf.size(), m_cs)));
    DK_TRY(io_write(m_file, off, buf));
  }
  // The table and the refcounts of its clusters are on disk before the header points at it.
  DK_TRY(flush_refcount_blocks());
  DK_TRY(m_file.flush());
  std::byte hdr[12];
  store_be32(hdr, static_cast<uint32_t>(snaps.size()));
  store_be64(hdr + 4, off);
  DK_TRY(io_write(m_file, 60, hdr));
  DK_TRY(m_file.flush());
  const uint64_t old_off = m_info.h.snapshots_offset, old_bytes = m_info.h.nb_snapshots ? m_snap_table_bytes : 0;
  m_info.h.nb_snapshots = static_cast<uint32_t>(snaps.size());
  m_info.h.snapshots_offset = off;
  m_snap_table_bytes = buf.size();
  m_snaps = std::move(snaps);
  std::vector<uint64_t> old;
  add_range(old, old_off, old_bytes, m_cs);
  DK_TRY(change_refcounts(old, -1, freed));
  return {};
}

Result<void> Qcow2Layer::punch_freed(std::vector<uint64_t> freed) {
  // Like QEMU's discard of freed snapshot clusters: gives the space back to
  // the host. Only an optimization, so failures are ignored.
  // The refcounts saying they are free are stable already; the flush after
  // makes the command's last host change stable before it reports success.
  std::sort(freed.begin(), freed.end());
  for (size_t i = 0, j; i < freed.size(); i = j) {
    for (j = i + 1; j < freed.size() && freed[j] == freed[j - 1] + 1; ++j) {
    }
    (void)m_file.punch_hole(freed[i] * m_cs, (j - i) * m_cs);
  }
  if (!freed.empty()) DK_TRY(m_file.flush());
  return {};
}

Result<std::string> Qcow2Layer::snapshot_create(const SnapshotInfo& in) {
  DK_TRY(snapshots_writable());
  if (m_snaps.size() >= kMaxSnapshots) return make_error(EFBIG, m_name + ": too many snapshots");
  DK_TRY(sync_all());
  // QEMU's id: one more than the largest numeric id.
  uint64_t id_max = 0;
  for (const SnapshotRecord& s : m_snaps) id_max = std::max<uint64_t>(id_max, std::strtoull(s.info.id.c_str(), nullptr, 10));
  const std::string id = std::to_string(id_max + 1);
  for (const SnapshotRecord& s : m_snaps)
    if (s.info.id == id) return make_error(EEXIST, m_name + ": snapshot id " + id + " already exists");
  const std::vector<uint64_t> refs = DK_TRY(tree_references(m_l1));
  // Checked before anything changes: a refcount overflow (refcount_bits=1)
  // fails with the image untouched.
  DK_TRY(check_refcount_change(refs, +1));
  std::vector<uint64_t> freed;
  DK_TRY(change_refcounts(refs, +1, freed));
  SnapshotRecord rec;
  rec.info = in;
  rec.info.id = id;
  rec.info.disk_size = size();
  rec.l1_size = static_cast<uint32_t>(m_l1.size());
  if (!m_l1.empty()) {
    rec.l1_table_offset = DK_TRY(alloc_clusters(div_round_up(m_l1.size() * 8, m_cs)));
    std::vector<std::byte> buf(m_l1.size() * 8);
    for (size_t i = 0; i < m_l1.size(); ++i) store_be64(buf.data() + i * 8, m_l1[i] & ~kOflagCopied);
    DK_TRY(io_write(m_file, rec.l1_table_offset, buf));
  }
  // Everything is shared now: clear COPIED on the active tables. sync_all
  // writes the raised refcounts before the tables.
  DK_TRY(fix_copied_flags(nullptr, true));
  DK_TRY(sync_all());
  std::vector<SnapshotRecord> snaps = m_snaps;
  snaps.push_back(std::move(rec));
  DK_TRY(write_snapshot_table(std::move(snaps), freed));
  DK_TRY(sync_all());
  DK_TRY(punch_freed(std::move(freed)));
  return id;
}

Result<void> Qcow2Layer::snapshot_apply(const std::string& key) {
  DK_TRY(snapshots_writable());
  // QEMU's find_snapshot_by_id_or_name: an id match first, then a name.
  const SnapshotRecord* found = nullptr;
  for (const auto& s : m_snaps)
    if (!found && s.info.id == key) found = &s;
  for (const auto& s : m_snaps)
    if (!found && s.info.name == key) found = &s;
  if (!found) return make_error(ENOENT, m_name + ": snapshot '" + key + "' not found");
  const SnapshotRecord sn = *found;
  const uint64_t new_size = sn.info.disk_size;
  if (new_size != size() && m_info.h.version < 3)
    return make_error(ENOTSUP, m_name + ": can't resize a v2 image which has snapshots");
  if (new_size > (uint64_t(1) << 62)) return make_error(EFBIG, m_name + ": snapshot disk size is too big");
  DK_TRY(sync_all());
  const std::vector<uint64_t> snap_l1 = DK_TRY(read_l1_table(sn.l1_table_offset, sn.l1_size));
  // The active L1 keeps its length unless the snapshot needs more (QEMU
  // grows it, and does not shrink it, when reverting).
  const uint64_t need = div_round_up(new_size, m_cs << m_l2_bits);
  const uint64_t entries = std::max<uint64_t>({need, sn.l1_size, m_l1.size()});
  if (entries * 8 > kMaxL1Bytes) return make_error(EFBIG, m_name + ": L1 table would be too large");
  std::vector<uint64_t> cur_refs = DK_TRY(tree_references(m_l1));
  if (!m_l1.empty()) add_range(cur_refs, m_info.h.l1_table_offset, m_l1.size() * 8, m_cs);
  std::sort(cur_refs.begin(), cur_refs.end());
  const std::vector<uint64_t> snap_refs = DK_TRY(tree_references(snap_l1));
  // References both states hold keep their count: only the difference
  // changes (QEMU adds first and subtracts after, so it overflows small
  // refcounts on clusters shared by several snapshots; this does not).
  std::vector<uint64_t> new_refs, old_refs;
  std::set_difference(snap_refs.begin(), snap_refs.end(), cur_refs.begin(), cur_refs.end(), std::back_inserter(new_refs));
  std::set_difference(cur_refs.begin(), cur_refs.end(), snap_refs.begin(), snap_refs.end(), std::back_inserter(old_refs));
  DK_TRY(check_refcount_change(old_refs, -1));
  DK_TRY(check_refcount_change(new_refs, +1));
  std::vector<uint64_t> freed;
  DK_TRY(change_refcounts(new_refs, +1, freed));
  // The snapshot's table becomes the active one in a new place, switched to
  // by one header write (size, L1 size and offset are adjacent), so a crash
  // leaves either the old or the reverted state, never a mix.
  std::vector<uint64_t> l1(entries, 0);
  for (size_t i = 0; i < snap_l1.size(); ++i) l1[i] = snap_l1[i] & ~kOflagCopied;
  uint64_t l1_off = m_info.h.l1_table_offset;
  if (entries) {
    l1_off = DK_TRY(alloc_clusters(div_round_up(entries * 8, m_cs)));
    std::vector<std::byte> buf(entries * 8);
    for (size_t i = 0; i < entries; ++i) store_be64(buf.data() + i * 8, l1[i]);
    DK_TRY(io_write(m_file, l1_off, buf));
  }
  DK_TRY(flush_refcount_blocks());
  DK_TRY(m_file.flush());
  std::byte hdr[24];
  store_be64(hdr, new_size);
  store_be32(hdr + 8, m_info.h.crypt_method);
  store_be32(hdr + 12, static_cast<uint32_t>(entries));
  store_be64(hdr + 16, l1_off);
  DK_TRY(io_write(m_file, 24, hdr));
  DK_TRY(m_file.flush());
  m_info.h.size = new_size;
  m_info.h.l1_size = static_cast<uint32_t>(entries);
  m_info.h.l1_table_offset = l1_off;
  m_l1 = std::move(l1);
  m_l1_dirty = false;
  m_meta_prealloc.reset();
  m_comp_entry = 0;
  m_free_byte_offset = 0;
  // Only now may the old state's references go.
  DK_TRY(change_refcounts(old_refs, -1, freed));
  DK_TRY(flush_refcount_blocks());
  DK_TRY(m_file.flush());
  DK_TRY(fix_copied_flags(nullptr, true));
  DK_TRY(sync_all());
  DK_TRY(punch_freed(std::move(freed)));
  return {};
}

Result<void> Qcow2Layer::snapshot_delete(const std::string& id, const std::string& name) {
  DK_TRY(snapshots_writable());
  size_t idx = m_snaps.size();
  for (size_t i = 0; i < m_snaps.size() && idx == m_snaps.size(); ++i)
    if (m_snaps[i].info.id == id && m_snaps[i].info.name == name) idx = i;
  if (idx == m_snaps.size()) return make_error(ENOENT, m_name + ": snapshot '" + name + "' not found");
  DK_TRY(sync_all());
  const SnapshotRecord sn = m_snaps[idx];
  const std::vector<uint64_t> snap_l1 = DK_TRY(read_l1_table(sn.l1_table_offset, sn.l1_size));
  std::vector<uint64_t> refs = DK_TRY(tree_references(snap_l1));
  add_range(refs, sn.l1_table_offset, uint64_t(sn.l1_size) * 8, m_cs);
  std::sort(refs.begin(), refs.end());
  DK_TRY(check_refcount_change(refs, -1));
  std::vector<SnapshotRecord> snaps = m_snaps;
  snaps.erase(snaps.begin() + static_cast<ptrdiff_t>(idx));
  std::vector<uint64_t> freed;
  DK_TRY(write_snapshot_table(std::move(snaps), freed));
  // The header no longer names the snapshot: release its tree, then let the
  // active tables write in place where they are now the only user.
  DK_TRY(change_refcounts(refs, -1, freed));
  DK_TRY(flush_refcount_blocks());
  DK_TRY(m_file.flush());
  DK_TRY(fix_copied_flags(nullptr, true));
  DK_TRY(sync_all());
  DK_TRY(punch_freed(std::move(freed)));
  return {};
}

}  // namespace dk::fmt::qcow2
