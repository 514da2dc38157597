// Allocating writes with copy-on-write, zero writes and discard.
//
// Crash safety: data is written before the L2 entry that points at it;
// refcounts are raised (in the refcount cache, flushed before any L2 table)
// before anything points at a cluster; references are dropped only after the
// L2 tables no longer point at the cluster (free_later, applied by sync_all).
#include <algorithm>
#include <cstring>

#include "formats/core/checked_math.h"
#include "formats/core/endian.h"
#include "formats/qcow2/qcow2.h"

namespace dk::fmt::qcow2 {

namespace {
constexpr uint64_t kAllAlloc = 0xffffffffull;
constexpr uint64_t kAllZero = 0xffffffffull << 32;
constexpr size_t kMaxPendingFrees = 4096;

uint64_t touched_mask(uint32_t first, uint32_t last) {
  uint64_t m = 0;
  for (uint32_t s = first; s <= last; ++s) m |= 1ull << s;
  return m;
}
}  // namespace

Result<void> Qcow2Layer::mark_dirty_if_lazy() {
  if (m_marked_dirty || !(m_info.h.compatible_features & kCompatLazyRefcounts)) return {};
  m_info.h.incompatible_features |= kIncompatDirty;
  std::byte b[8];
  store_be64(b, m_info.h.incompatible_features);
  DK_TRY(io_write(m_file, 72, b));
  DK_TRY(m_file.flush());
  m_marked_dirty = true;
  return {};
}

bool Qcow2Layer::in_place(uint64_t entry) const {
  return !(entry & kOflagCompressed) && (entry & kOflagCopied) && ((entry & kL2OffsetMask) || m_data.is_open());
}

void Qcow2Layer::release_entry(uint64_t entry) {
  if (entry & kOflagCompressed) {
    const uint32_t shift = 62 - (m_cluster_bits - 8);
    const uint64_t coffset = entry & ((1ull << shift) - 1);
    const uint64_t nb = ((entry >> shift) & ((1ull << (m_cluster_bits - 8)) - 1)) + 1;
    free_later(coffset, nb * 512 - (coffset & 511));
    return;
  }
  uint64_t host = entry & kL2OffsetMask;
  if (host && !m_data.is_open()) free_later(host, m_cs);
}

Result<uint64_t> Qcow2Layer::alloc_data(uint64_t guest, uint64_t n) {
  // An external data file maps guest offsets 1:1 and has no refcounts.
  if (m_data.is_open()) return align_down(guest, m_cs);
  return alloc_clusters(n);
}

Result<void> Qcow2Layer::store_entry(CacheEntry* t, uint64_t idx, uint64_t entry, uint64_t bitmap) {
  const uint32_t esize = m_ext_l2 ? 16 : 8;
  store_be64(t->data.data() + idx * esize, entry);
  if (m_ext_l2) store_be64(t->data.data() + idx * esize + 8, bitmap);
  t->dirty = true;
  return {};
}

Result<CacheEntry*> Qcow2Layer::l2_for_write(uint64_t l1_index) {
  if (l1_index >= m_l1.size())
    return make_error(EIO, m_name + ": guest offset beyond the L1 table");
  const uint64_t l1e = m_l1[l1_index];
  const uint64_t old = DK_TRY(check_l2_offset(l1e));
  if (old && (l1e & kOflagCopied)) {
    CacheEntry* e = DK_TRY(l2_load(old, true));
    return e;
  }
  std::vector<std::byte> data(m_cs);
  if (old) {
    CacheEntry* e = DK_TRY(l2_load(old, false));
    data = e->data;
  }
  uint64_t fresh = DK_TRY(alloc_clusters(1));
  if (m_l2_cache.full()) {
    CacheEntry* v = m_l2_cache.victim(UINT64_MAX);
    if (v->dirty) DK_TRY(l2_writeback(*v));
    m_l2_cache.erase(v->offset);
  }
  CacheEntry* e = m_l2_cache.insert(fresh, std::move(data));
  e->dirty = true;
  m_l1[l1_index] = fresh | kOflagCopied;
  m_l1_dirty = true;
  // The old table stays shared with a snapshot: drop our reference to it.
  if (old) free_later(old, m_cs);
  return e;
}

Result<void> Qcow2Layer::fill_region(uint64_t guest, uint64_t entry, uint64_t bitmap, uint32_t from, uint32_t to,
                                     std::byte* dst) {
  std::vector<std::byte> cbuf;
  uint32_t pos = from;
  while (pos < to) {
    uint32_t sc = static_cast<uint32_t>(pos / m_sc_size);
    uint32_t end = std::min<uint32_t>(to, static_cast<uint32_t>((sc + 1) * m_sc_size));
    std::span<std::byte> part(dst + (pos - from), end - pos);
    switch (classify(entry, bitmap, sc)) {
      case Sub::kNormal:
        DK_TRY(io_read(data_file(), (entry & kL2OffsetMask) + pos, part));
        break;
      case Sub::kZeroPlain:
      case Sub::kZeroAlloc:
        std::memset(part.data(), 0, part.size());
        break;
      case Sub::kUnallocPlain:
      case Sub::kUnallocAlloc:
        DK_TRY(read_below(guest + pos, part));
        break;
      case Sub::kCompressed:
        DK_TRY(read_compressed(entry, cbuf));
        std::memcpy(part.data(), cbuf.data() + pos, part.size());
        break;
      case Sub::kInvalid:
        return make_error(EIO, m_name + ": invalid L2 entry " + hex(entry) + " (image is corrupt)");
    }
    pos = end;
  }
  return {};
}

Result<void> Qcow2Layer::write_cluster(CacheEntry* t, uint64_t idx, uint64_t guest, uint32_t a, uint32_t b,
                                       const std::byte* src) {
  const uint32_t esize = m_ext_l2 ? 16 : 8;
  const uint64_t entry = load_be64(t->data.data() + idx * esize);
  const uint64_t bitmap = m_ext_l2 ? load_be64(t->data.data() + idx * esize + 8) : 0;
  DK_TRY(validate_entry(entry, bitmap, guest));
  const uint32_t sa = static_cast<uint32_t>(a / m_sc_size), sb = static_cast<uint32_t>((b - 1) / m_sc_size);
  const uint64_t touched = m_ext_l2 ? touched_mask(sa, sb) : 0;
  const uint64_t host = entry & kL2OffsetMask;
  if (in_place(entry)) {
    uint32_t ra = a, rb = b;
    if (!m_ext_l2) {
      if (entry & kOflagZero) ra = 0, rb = static_cast<uint32_t>(m_cs);
    } else {
      if (classify(entry, bitmap, sa) != Sub::kNormal) ra = static_cast<uint32_t>(sa * m_sc_size);
      if (classify(entry, bitmap, sb) != Sub::kNormal) rb = static_cast<uint32_t>((sb + 1) * m_sc_size);
    }
    std::vector<std::byte> buf(rb - ra);
    DK_TRY(fill_region(guest, entry, bitmap, ra, a, buf.data()));
    std::memcpy(buf.data() + (a - ra), src, b - a);
    DK_TRY(fill_region(guest, entry, bitmap, b, rb, buf.data() + (b - ra)));
    DK_TRY(io_write(data_file(), host + ra, buf));
    uint64_t nb = m_ext_l2 ? ((bitmap | touched) & ~(touched << 32)) : 0;
    return store_entry(t, idx, host | kOflagCopied, nb);
  }
  const uint64_t fresh = DK_TRY(alloc_data(guest, 1));
  uint32_t ra = 0, rb = static_cast<uint32_t>(m_cs);
  uint64_t nb = 0;
  if (m_ext_l2) {
    if (entry & kOflagCompressed) {
      nb = kAllAlloc;
    } else {
      nb = (bitmap | touched) & ~(touched << 32);
      if (!host) ra = static_cast<uint32_t>(sa * m_sc_size), rb = static_cast<uint32_t>((sb + 1) * m_sc_size);
    }
  }
  std::vector<std::byte> buf(rb - ra);
  DK_TRY(fill_region(guest, entry, bitmap, ra, a, buf.data()));
  std::memcpy(buf.data() + (a - ra), src, b - a);
  DK_TRY(fill_region(guest, entry, bitmap, b, rb, buf.data() + (b - ra)));
  DK_TRY(io_write(data_file(), fresh + ra, buf));
  release_entry(entry);
  return store_entry(t, idx, fresh | kOflagCopied, nb);
}

Result<void> Qcow2Layer::write_in_l2(uint64_t off, std::span<const std::byte> in) {
  const uint64_t l1_index = off >> (m_cluster_bits + m_l2_bits);
  CacheEntry* t = DK_TRY(l2_for_write(l1_index));
  const uint64_t mask = l2_entries() - 1;
  const uint32_t esize = m_ext_l2 ? 16 : 8;
  auto entry_at = [&](uint64_t i) { return load_be64(t->data.data() + i * esize); };
  size_t pos = 0;
  while (pos < in.size()) {
    const uint64_t guest = off + pos;
    const uint64_t idx = (guest >> m_cluster_bits) & mask;
    const uint32_t in_c = static_cast<uint32_t>(guest & (m_cs - 1));
    const size_t n = std::min<size_t>(in.size() - pos, m_cs - in_c);
    if (in_c == 0 && n == m_cs) {
      // Runs of whole clusters: one allocation and one write per run.
      const uint64_t max_k = std::min<uint64_t>((in.size() - pos) / m_cs, l2_entries() - idx);
      const bool fresh_run = !in_place(entry_at(idx));
      uint64_t k = 1;
      if (fresh_run) {
        while (k < max_k && !in_place(entry_at(idx + k))) ++k;
        uint64_t host = DK_TRY(alloc_data(guest, k));
        DK_TRY(write_fresh_data(host, in.subspan(pos, k * m_cs)));
        for (uint64_t i = 0; i < k; ++i) {
          release_entry(entry_at(idx + i));
          DK_TRY(store_entry(t, idx + i, (host + i * m_cs) | kOflagCopied, kAllAlloc));
        }
      } else {
        const uint64_t h0 = entry_at(idx) & kL2OffsetMask;
        while (k < max_k && in_place(entry_at(idx + k)) && (entry_at(idx + k) & kL2OffsetMask) == h0 + k * m_cs) ++k;
        DK_TRY(io_write(data_file(), h0, in.subspan(pos, k * m_cs)));
        for (uint64_t i = 0; i < k; ++i) DK_TRY(store_entry(t, idx + i, (h0 + i * m_cs) | kOflagCopied, kAllAlloc));
      }
      pos += k * m_cs;
      continue;
    }
    DK_TRY(write_cluster(t, idx, guest - in_c, in_c, static_cast<uint32_t>(in_c + n), in.data() + pos));
    pos += n;
  }
  return {};
}

// Data for freshly allocated whole clusters: written now, or handed to the
// write_deferred caller (the clusters are new, nothing else reads them).
Result<void> Qcow2Layer::write_fresh_data(uint64_t host, std::span<const std::byte> in) {
  if (!m_defer) return io_write(data_file(), host, in);
  m_need_sync = true;
  if (!m_data.is_open()) m_file_size = std::max<uint64_t>(m_file_size, host + in.size());
  m_defer->push_back(DeferredWrites::Write{data_file().fd(), host, in.data(), in.size()});
  return {};
}

Result<void> Qcow2Layer::write_deferred(uint64_t off, std::span<const std::byte> in,
                                        std::vector<DeferredWrites::Write>& out) {
  if (m_direct) return write(off, in);  // O_DIRECT writes need aligned bounce buffers
  m_defer = &out;
  auto r = write(off, in);
  m_defer = nullptr;
  return r;
}

Result<void> Qcow2Layer::do_write(uint64_t off, std::span<const std::byte> in) {
  DK_TRY(mark_dirty_if_lazy());
  m_comp_entry = 0;
  const uint64_t span = 1ull << (m_cluster_bits + m_l2_bits);
  while (!in.empty()) {
    size_t n = std::min<uint64_t>(in.size(), span - (off & (span - 1)));
    DK_TRY(write_in_l2(off, in.first(n)));
    off += n;
    in = in.subspan(n);
  }
  if (m_pending_free.size() > kMaxPendingFrees) DK_TRY(sync_all());
  return {};
}

// Zeroes (discard=false) or discards whole (sub)clusters of one L2 table;
// partial (sub)clusters are written as zero data (zeroing) or skipped (discard).
Result<void> Qcow2Layer::zero_in_l2(uint64_t off, uint64_t len, bool unmap, bool discard) {
  const uint64_t l1_index = off >> (m_cluster_bits + m_l2_bits);
  const uint64_t mask = l2_entries() - 1;
  const uint32_t esize = m_ext_l2 ? 16 : 8;
  const uint64_t end = off + len;
  uint64_t pos = off;
  while (pos < end) {
    const uint64_t cstart = align_down(pos, m_cs);
    const uint64_t cend = std::min(cstart + m_cs, end);
    const bool whole = pos == cstart && cend - cstart == m_cs;
    if (!whole && (discard || !m_ext_l2)) {
      if (!discard) {
        std::vector<std::byte> z(cend - pos);
        DK_TRY(write_in_l2(pos, z));
      }
      pos = cend;
      continue;
    }
    CacheEntry* t = DK_TRY(l2_for_write(l1_index));
    const uint64_t idx = (cstart >> m_cluster_bits) & mask;
    const uint64_t entry = load_be64(t->data.data() + idx * esize);
    const uint64_t bitmap = m_ext_l2 ? load_be64(t->data.data() + idx * esize + 8) : 0;
    const bool allocated = (entry & kOflagCompressed) || (entry & kL2OffsetMask);
    if (!whole) {
      // Extended L2: whole subclusters get the zero flag, the edges zero data.
      uint64_t s0 = align_up(pos, m_sc_size), s1 = align_down(cend, m_sc_size);
      if (s0 >= s1 || (entry & kOflagCompressed) || (allocated && !in_place(entry))) {
        std::vector<std::byte> z(cend - pos);
        DK_TRY(write_in_l2(pos, z));
        pos = cend;
        continue;
      }
      uint32_t first = static_cast<uint32_t>((s0 - cstart) / m_sc_size);
      uint32_t last = static_cast<uint32_t>((s1 - cstart) / m_sc_size) - 1;
      uint64_t tm = touched_mask(first, last);
      DK_TRY(store_entry(t, idx, entry, (bitmap & ~tm) | (tm << 32)));
      if (pos < s0) {
        std::vector<std::byte> z(s0 - pos);
        DK_TRY(write_in_l2(pos, z));
      }
      if (s1 < cend) {
        std::vector<std::byte> z(cend - s1);
        DK_TRY(write_in_l2(s1, z));
      }
      pos = cend;
      continue;
    }
    uint64_t ne, nbm = 0;
    bool keep = !unmap && !discard && in_place(entry);
    if (discard) {
      if (!backing() && !allocated && !(entry & kOflagZero) && !(m_ext_l2 && (bitmap & kAllZero))) {
        pos = cend;
        continue;
      }
      ne = m_ext_l2 ? 0 : (m_info.h.version >= 3 ? kOflagZero : 0);
      nbm = m_ext_l2 ? kAllZero : 0;
    } else if (keep) {
      ne = (entry & kL2OffsetMask) | kOflagCopied | (m_ext_l2 ? 0 : kOflagZero);
      nbm = kAllZero;
    } else {
      ne = m_ext_l2 ? 0 : kOflagZero;
      nbm = kAllZero;
    }
    if (allocated && !keep) release_entry(entry);
    DK_TRY(store_entry(t, idx, ne, nbm));
    pos = cend;
  }
  return {};
}

Result<void> Qcow2Layer::do_write_zeroes(uint64_t off, uint64_t len, bool may_unmap) {
  if (m_info.h.version < 3 || m_data_raw) return make_error(ENOTSUP, "zero clusters need qcow2 v3");
  DK_TRY(mark_dirty_if_lazy());
  m_comp_entry = 0;
  const uint64_t span = 1ull << (m_cluster_bits + m_l2_bits);
  while (len) {
    uint64_t n = std::min<uint64_t>(len, span - (off & (span - 1)));
    DK_TRY(zero_in_l2(off, n, may_unmap, false));
    off += n;
    len -= n;
  }
  if (m_pending_free.size() > kMaxPendingFrees) DK_TRY(sync_all());
  return {};
}

Result<void> Qcow2Layer::do_discard(uint64_t off, uint64_t len) {
  if (m_data_raw) return make_error(ENOTSUP, "discard with a raw external data file");
  DK_TRY(mark_dirty_if_lazy());
  m_comp_entry = 0;
  const uint64_t span = 1ull << (m_cluster_bits + m_l2_bits);
  // Only whole clusters are discarded (the partial last cluster of the image counts as whole).
  uint64_t start = align_up(off, m_cs);
  uint64_t stop = off + len == size() ? align_up(size(), m_cs) : align_down(off + len, m_cs);
  while (start < stop) {
    uint64_t n = std::min<uint64_t>(stop - start, span - (start & (span - 1)));
    DK_TRY(zero_in_l2(start, n, true, true));
    start += n;
  }
  if (m_pending_free.size() > kMaxPendingFrees) DK_TRY(sync_all());
  return {};
}

}  // namespace dk::fmt::qcow2
