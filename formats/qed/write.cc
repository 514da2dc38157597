// QedLayer writes: in place into allocated clusters, or into newly
// allocated, contiguous clusters at the end of the file (partial clusters
// filled from the backing file, or with zeroes for zero clusters), with the
// L2 entries updated in the cache and written back in batches (layer.h).
#include <algorithm>
#include <cstring>

#include "formats/core/checked_math.h"
#include "formats/qed/layer.h"

namespace dk::fmt::qed {

Result<void> QedLayer::do_write(uint64_t off, std::span<const std::byte> in) {
  while (!in.empty()) {
    Run r = DK_TRY(find(off, in.size()));
    auto part = in.first(r.length);
    if (r.kind == Kind::kData)
      DK_TRY(io_write(r.host, part));
    else
      DK_TRY(write_alloc(off, part, r.kind));
    off += r.length;
    in = in.subspan(r.length);
  }
  return {};
}

// Writes `in` (inside one L2 table, over clusters that are all unallocated
// or all zero) to new clusters. Whole clusters are always written so the
// file holds no holes inside data clusters.
Result<void> QedLayer::write_alloc(uint64_t off, std::span<const std::byte> in, Kind kind) {
  DK_TRY(ensure_need_check());
  const uint64_t cs = m_geo.cluster_size;
  const uint64_t in_cluster = off & (cs - 1);
  const uint64_t guest_c0 = off - in_cluster;
  const uint64_t end = off + in.size();
  const uint64_t n = div_round_up(in_cluster + in.size(), cs);
  const uint64_t l1_index = off >> m_l1_shift;
  const uint64_t idx = (off >> m_l2_shift) & (m_geo.table_entries() - 1);
  // The table first, so the data of a long sequential write stays contiguous.
  DK_TRY(get_l2(l1_index, true));
  const uint64_t host = alloc_clusters(n);

  // Builds cluster i (guest range [g, g+cs)) from what lies below and `in`.
  std::vector<std::byte> buf;
  auto write_partial = [&](uint64_t i) -> Result<void> {
    const uint64_t g = guest_c0 + i * cs;
    buf.resize(cs);
    if (kind == Kind::kZero)
      std::memset(buf.data(), 0, cs);
    else
      DK_TRY(read_below(g, buf));
    const uint64_t a = std::max(g, off), b = std::min(g + cs, end);
    std::memcpy(buf.data() + (a - g), in.data() + (a - off), b - a);
    return io_write(host + i * cs, buf);
  };
  uint64_t first_full = 0, last_full = n;  // [first_full, last_full) written straight from `in`
  if (in_cluster != 0 || end < guest_c0 + cs) {
    DK_TRY(write_partial(0));
    first_full = 1;
  }
  if (last_full > first_full && end % cs != 0) {
    DK_TRY(write_partial(n - 1));
    last_full = n - 1;
  }
  if (last_full > first_full) {
    const uint64_t g = guest_c0 + first_full * cs;
    DK_TRY(io_write(host + first_full * cs, in.subspan(g - off, (last_full - first_full) * cs)));
  }
  // Only now, after the data, do the entries change (and reach the disk
  // after a flush, in writeback_tables()).
  L2Table* t = DK_TRY(get_l2(l1_index, true));
  for (uint64_t i = 0; i < n; i++) t->entries[idx + i] = host + i * cs;
  mark_dirty(*t, idx, idx + n);
  return {};
}

// Marks the whole clusters of [off, off+len) (one L2 table, unallocated) as
// zero clusters.
Result<void> QedLayer::zero_alloc(uint64_t off, uint64_t len) {
  DK_TRY(ensure_need_check());
  const uint64_t l1_index = off >> m_l1_shift;
  const uint64_t idx = (off >> m_l2_shift) & (m_geo.table_entries() - 1);
  const uint64_t n = len / m_geo.cluster_size;
  L2Table* t = DK_TRY(get_l2(l1_index, true));
  for (uint64_t i = 0; i < n; i++) t->entries[idx + i] = kZeroCluster;
  mark_dirty(*t, idx, idx + n);
  return {};
}

Result<void> QedLayer::write_zero_bytes(uint64_t host, uint64_t len) {
  std::vector<std::byte> z(std::min<uint64_t>(len, 1u << 20));
  while (len) {
    const uint64_t n = std::min<uint64_t>(len, z.size());
    DK_TRY(io_write(host, std::span<const std::byte>(z).first(n)));
    host += n;
    len -= n;
  }
  return {};
}

// Like QEMU: whole clusters that are unallocated become zero clusters,
// allocated ones get zeroes written in place (QED cannot free clusters),
// and partial clusters at the edges are written as data.
Result<void> QedLayer::do_write_zeroes(uint64_t off, uint64_t len, bool) {
  const uint64_t cs = m_geo.cluster_size;
  const uint64_t end = off + len;
  const uint64_t mid_start = std::min(align_up(off, cs), end);
  const uint64_t mid_end = std::max(align_down(end, cs), mid_start);
  auto write_data_zeroes = [&](uint64_t a, uint64_t b) -> Result<void> {
    if (a >= b) return {};
    std::vector<std::byte> z(b - a);
    return do_write(a, z);
  };
  DK_TRY(write_data_zeroes(off, mid_start));
  for (uint64_t pos = mid_start; pos < mid_end;) {
    Run r = DK_TRY(find(pos, mid_end - pos));
    if (r.kind == Kind::kData) DK_TRY(write_zero_bytes(r.host, r.length));
    if (r.kind == Kind::kUnallocated) DK_TRY(zero_alloc(pos, r.length));
    pos += r.length;
  }
  return write_data_zeroes(mid_end, end);
}

}  // namespace dk::fmt::qed
