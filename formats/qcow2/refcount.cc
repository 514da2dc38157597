// Reference counts: lookup, update, cluster allocation and refcount table
// growth. Refcount blocks are self-describing where possible (a new block
// lies inside the range it covers), like QEMU's.
#include <algorithm>
#include <cstring>

#include "formats/core/checked_math.h"
#include "formats/core/endian.h"
#include "formats/qcow2/qcow2.h"

namespace dk::fmt::qcow2 {

uint64_t refcount_entry(const std::byte* b, uint64_t idx, uint32_t bits) {
  switch (bits) {
    case 8: return static_cast<uint8_t>(b[idx]);
    case 16: return load_be16(b + idx * 2);
    case 32: return load_be32(b + idx * 4);
    case 64: return load_be64(b + idx * 8);
    default: {
      uint64_t bit = idx * bits;
      return (static_cast<uint8_t>(b[bit / 8]) >> (bit % 8)) & ((1u << bits) - 1);
    }
  }
}

void set_refcount_entry(std::byte* b, uint64_t idx, uint32_t bits, uint64_t v) {
  switch (bits) {
    case 8: b[idx] = static_cast<std::byte>(v); return;
    case 16: store_be16(b + idx * 2, static_cast<uint16_t>(v)); return;
    case 32: store_be32(b + idx * 4, static_cast<uint32_t>(v)); return;
    case 64: store_be64(b + idx * 8, v); return;
    default: {
      uint64_t bit = idx * bits;
      uint8_t mask = static_cast<uint8_t>(((1u << bits) - 1) << (bit % 8));
      uint8_t old = static_cast<uint8_t>(b[bit / 8]);
      b[bit / 8] = static_cast<std::byte>((old & ~mask) | ((v << (bit % 8)) & mask));
    }
  }
}

Result<uint64_t> Qcow2Layer::get_refcount(uint64_t cluster) {
  uint64_t rt_index = cluster / m_rb_entries;
  if (rt_index >= m_rt.size()) return 0;
  uint64_t rb = m_rt[rt_index] & kRefTableOffsetMask;
  if (rb == 0) return 0;
  CacheEntry* e = DK_TRY(rb_load(rb));
  return refcount_entry(e->data.data(), cluster % m_rb_entries, m_refcount_bits);
}

Result<void> Qcow2Layer::set_refcount(uint64_t cluster, uint64_t value) {
  const uint64_t max = m_refcount_bits == 64 ? UINT64_MAX : (1ull << m_refcount_bits) - 1;
  if (value > max)
    return make_error(ERANGE, m_name + ": refcount of cluster " + std::to_string(cluster) + " would overflow (" +
                                  std::to_string(m_refcount_bits) + "-bit refcounts)");
  uint64_t rt_index = cluster / m_rb_entries;
  if (rt_index >= m_rt.size() || (m_rt[rt_index] & kRefTableOffsetMask) == 0) {
    if (value == 0) return {};
    return make_error(EIO, m_name + ": no refcount block covers cluster " + std::to_string(cluster));
  }
  CacheEntry* e = DK_TRY(rb_load(m_rt[rt_index] & kRefTableOffsetMask));
  set_refcount_entry(e->data.data(), cluster % m_rb_entries, m_refcount_bits, value);
  e->dirty = true;
  if (value == 0 && cluster < m_free_cluster_index) m_free_cluster_index = cluster;
  return {};
}

Result<void> Qcow2Layer::add_refcount(uint64_t cluster, int64_t delta) {
  uint64_t cur = DK_TRY(get_refcount(cluster));
  if (delta < 0 && cur < static_cast<uint64_t>(-delta))
    return make_error(EIO, m_name + ": refcount of cluster " + std::to_string(cluster) +
                               " would become negative (image is corrupt)");
  return set_refcount(cluster, cur + delta);
}

Result<uint64_t> Qcow2Layer::file_end_cluster() {
  return std::max(div_round_up(m_file_size, m_cs), m_alloc_high);
}

Result<void> Qcow2Layer::create_refblock(uint64_t rt_index, uint64_t cluster) {
  std::vector<std::byte> data(m_cs);
  if (cluster / m_rb_entries == rt_index) set_refcount_entry(data.data(), cluster % m_rb_entries, m_refcount_bits, 1);
  DK_TRY(io_write(m_file, cluster * m_cs, data));
  // The block must be on disk before the table points at it.
  DK_TRY(m_file.flush());
  m_rt[rt_index] = cluster * m_cs;
  std::byte e[8];
  store_be64(e, m_rt[rt_index]);
  DK_TRY(io_write(m_file, m_info.h.refcount_table_offset + rt_index * 8, e));
  m_alloc_high = std::max(m_alloc_high, cluster + 1);
  if (m_rb_cache.find(cluster * m_cs) == nullptr) {
    if (m_rb_cache.full()) {
      CacheEntry* v = m_rb_cache.victim(UINT64_MAX);
      if (v->dirty) DK_TRY(io_write(m_file, v->offset, v->data));
      m_rb_cache.erase(v->offset);
    }
    m_rb_cache.insert(cluster * m_cs, std::move(data));
  }
  return {};
}

Result<uint64_t> Qcow2Layer::alloc_clusters(uint64_t n) {
  if (n == 0) return make_error(EINVAL, "allocating zero clusters");
  for (int attempt = 0; attempt < 1000; ++attempt) {
    uint64_t c = std::max<uint64_t>(m_free_cluster_index, 1);
    uint64_t run_start = c, count = 0;
    while (count < n) {
      bool busy = m_repair_busy && c < m_repair_busy->size() && (*m_repair_busy)[c] != 0;
      if (!busy && DK_TRY(get_refcount(c)) == 0) {
        if (count == 0) run_start = c;
        ++count;
      } else {
        count = 0;
      }
      ++c;
    }
    if (!checked_mul(run_start + n, m_cs) || (run_start + n) * m_cs > (1ull << 56))
      return make_error(EFBIG, m_name + ": image file would grow beyond the qcow2 limit");
    const uint64_t r0 = run_start / m_rb_entries, r1 = (run_start + n - 1) / m_rb_entries;
    bool restart = false;
    for (uint64_t r = r0; r <= r1 && !restart; ++r)
      restart = r >= m_rt.size() || (m_rt[r] & kRefTableOffsetMask) == 0;
    if (restart) {
      if (r0 == r1 && r0 < m_rt.size()) {
        // One missing block in a table with room: make it describe itself (QEMU's usual layout).
        DK_TRY(create_refblock(r0, run_start));
      } else {
        DK_TRY(refcount_area(run_start, run_start + n));
      }
      continue;
    }
    for (uint64_t i = 0; i < n; ++i) DK_TRY(set_refcount(run_start + i, 1));
    m_free_cluster_index = run_start + n;
    m_alloc_high = std::max(m_alloc_high, run_start + n);
    return run_start * m_cs;
  }
  return make_error(EIO, m_name + ": cluster allocation does not converge");
}

Result<uint64_t> Qcow2Layer::alloc_bytes(uint64_t n) {
  uint64_t off;
  uint64_t in_cluster = m_free_byte_offset & (m_cs - 1);
  if (m_free_byte_offset != 0 && in_cluster != 0 && in_cluster + n <= m_cs) {
    off = m_free_byte_offset;
    DK_TRY(add_refcount(off / m_cs, 1));
  } else {
    off = DK_TRY(alloc_clusters(1));
  }
  m_free_byte_offset = align_up(off + n, 512);
  if ((m_free_byte_offset & (m_cs - 1)) == 0) m_free_byte_offset = 0;
  return off;
}

Result<void> Qcow2Layer::grow_refcount_table(uint64_t needed_index) {
  return refcount_area(needed_index * m_rb_entries, needed_index * m_rb_entries + 1);
}

// Makes refcount blocks cover clusters [cover_start, cover_end). New blocks
// (and, when the table is full, a new bigger table) go after everything
// allocated, and count themselves, like QEMU's qcow2_refcount_area().
Result<void> Qcow2Layer::refcount_area(uint64_t cover_start, uint64_t cover_end) {
  const uint64_t E = m_rb_entries;
  const uint64_t start = std::max(DK_TRY(file_end_cluster()), cover_end);
  auto missing = [&](uint64_t r) { return r >= m_rt.size() || (m_rt[r] & kRefTableOffsetMask) == 0; };
  uint64_t T = 0, B = 0, entries = m_rt.size();
  std::vector<uint64_t> new_blocks;
  for (int iter = 0;; ++iter) {
    if (iter > 100) return make_error(EIO, m_name + ": refcount area does not converge");
    new_blocks.clear();
    for (uint64_t r = cover_start / E; r <= (cover_end - 1) / E; ++r)
      if (missing(r)) new_blocks.push_back(r);
    const uint64_t meta_end = start + T + B;
    for (uint64_t r = start / E; r <= (meta_end == start ? start : meta_end - 1) / E; ++r)
      if (missing(r) && (new_blocks.empty() || new_blocks.back() < r)) new_blocks.push_back(r);
    uint64_t need = new_blocks.empty() ? 0 : new_blocks.back() + 1;
    uint64_t nT = 0, nentries = m_rt.size();
    if (need > m_rt.size()) {
      nentries = std::max(need, m_rt.size() + m_rt.size() / 2 + 1);
      nT = div_round_up(nentries * 8, m_cs);
      nentries = nT * m_cs / 8;
    }
    if (nT == T && new_blocks.size() == B && nentries == entries) break;
    T = nT;
    B = new_blocks.size();
    entries = nentries;
  }
  if (T * m_cs > kMaxRefTableBytes)
    return make_error(EFBIG, m_name + ": refcount table would exceed " + std::to_string(kMaxRefTableBytes) + " bytes");
  const uint64_t region_end = start + T + B;
  for (size_t i = 0; i < new_blocks.size(); ++i) {
    uint64_t r = new_blocks[i];
    std::vector<std::byte> blk(m_cs);
    for (uint64_t c = std::max(start, r * E); c < std::min(region_end, (r + 1) * E); ++c)
      set_refcount_entry(blk.data(), c % E, m_refcount_bits, 1);
    DK_TRY(io_write(m_file, (start + T + i) * m_cs, blk));
  }
  std::vector<uint64_t> rt = m_rt;
  rt.resize(std::max<uint64_t>(entries, rt.size()), 0);
  for (size_t i = 0; i < new_blocks.size(); ++i) rt[new_blocks[i]] = (start + T + i) * m_cs;
  for (uint64_t c = start; c < region_end; ++c) {
    uint64_t r = c / E;
    if (r < m_rt.size() && (m_rt[r] & kRefTableOffsetMask)) DK_TRY(set_refcount(c, 1));
  }
  DK_TRY(flush_refcount_blocks());
  DK_TRY(m_file.flush());
  m_alloc_high = std::max(m_alloc_high, region_end);
  if (T == 0) {
    // The table has room: point its entries at the new blocks.
    for (size_t i = 0; i < new_blocks.size(); ++i) {
      std::byte e[8];
      store_be64(e, rt[new_blocks[i]]);
      DK_TRY(io_write(m_file, m_info.h.refcount_table_offset + new_blocks[i] * 8, e));
    }
    m_rt = std::move(rt);
    return {};
  }
  std::vector<std::byte> buf(T * m_cs);
  for (uint64_t i = 0; i < rt.size(); ++i) store_be64(buf.data() + i * 8, rt[i]);
  DK_TRY(io_write(m_file, start * m_cs, buf));
  DK_TRY(m_file.flush());
  // Switch the header to the new table in one write.
  std::byte hdr[12];
  store_be64(hdr, start * m_cs);
  store_be32(hdr + 8, static_cast<uint32_t>(T));
  DK_TRY(io_write(m_file, 48, hdr));
  DK_TRY(m_file.flush());
  const uint64_t old_off = m_info.h.refcount_table_offset;
  const uint64_t old_clusters = m_info.h.refcount_table_clusters;
  m_info.h.refcount_table_offset = start * m_cs;
  m_info.h.refcount_table_clusters = static_cast<uint32_t>(T);
  m_rt = std::move(rt);
  for (uint64_t i = 0; i < old_clusters; ++i) DK_TRY(add_refcount(old_off / m_cs + i, -1));
  return {};
}

void Qcow2Layer::free_later(uint64_t off, uint64_t bytes) {
  if (bytes) m_pending_free.emplace_back(off, bytes);
}

Result<void> Qcow2Layer::apply_pending_frees() {
  auto pending = std::move(m_pending_free);
  m_pending_free.clear();
  for (auto [off, bytes] : pending) {
    for (uint64_t c = off / m_cs; c <= (off + bytes - 1) / m_cs; ++c) {
      DK_TRY(add_refcount(c, -1));
      if (DK_TRY(get_refcount(c)) == 0) {
        m_l2_cache.erase(c * m_cs);
        if (m_free_byte_offset / m_cs == c) m_free_byte_offset = 0;
      }
    }
  }
  return {};
}

}  // namespace dk::fmt::qcow2
