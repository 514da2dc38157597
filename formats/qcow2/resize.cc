// Compressed writes, resizing and backing file changes.
#include <algorithm>
#include <cstring>

#include "formats/core/checked_math.h"
#include "formats/core/endian.h"
#include "formats/qcow2/header.h"
#include "formats/qcow2/qcow2.h"

namespace dk::fmt::qcow2 {

Result<void> Qcow2Layer::do_write_compressed(uint64_t off, std::span<const std::byte> in) {
  if (m_data.is_open()) return make_error(ENOTSUP, m_name + ": compression is not supported with an external data file");
  if (off % m_cs) return make_error(EINVAL, m_name + ": compressed writes must be cluster aligned");
  while (!in.empty()) {
    size_t n = std::min<size_t>(in.size(), m_cs);
    if (n < m_cs && off + n != size())
      return make_error(EINVAL, m_name + ": compressed writes must cover whole clusters");
    std::optional<std::vector<std::byte>> comp = DK_TRY(compress_cluster(in.first(n)));
    if (comp) {
      DK_TRY(store_compressed(off, *comp));
    } else {
      // Incompressible: store it as a normal cluster.
      DK_TRY(mark_dirty_if_lazy());
      m_comp_entry = 0;
      DK_TRY(write_in_l2(off, in.first(n)));
    }
    off += n;
    in = in.subspan(n);
  }
  return {};
}

// Thread-safe: reads only what open() set (cluster size, compression type).
Result<std::optional<std::vector<std::byte>>> Qcow2Layer::compress_cluster(std::span<const std::byte> in) const {
  if (in.size() > m_cs) return make_error(EINVAL, m_name + ": compressed input larger than a cluster");
  // A partial last cluster is compressed zero-padded to a full cluster, as QEMU does.
  std::vector<std::byte> buf(m_cs);
  std::memcpy(buf.data(), in.data(), in.size());
  std::vector<std::byte> comp = DK_TRY(qcow2::compress_cluster(m_comp_type, buf));
  if (comp.empty()) return std::optional<std::vector<std::byte>>();
  return std::optional<std::vector<std::byte>>(std::move(comp));
}

Result<void> Qcow2Layer::write_compressed_payload(uint64_t off, std::span<const std::byte> payload) {
  if (!writable()) return make_error(EROFS, m_name + ": image is opened read-only");
  if (m_data.is_open()) return make_error(ENOTSUP, m_name + ": compression is not supported with an external data file");
  if (off % m_cs || off >= size()) return make_error(EINVAL, m_name + ": compressed writes must be cluster aligned");
  if (payload.empty() || payload.size() >= m_cs)
    return make_error(EINVAL, m_name + ": compressed payload of " + std::to_string(payload.size()) + " bytes");
  return store_compressed(off, payload);
}

Result<void> Qcow2Layer::store_compressed(uint64_t off, std::span<const std::byte> comp) {
  DK_TRY(mark_dirty_if_lazy());
  m_comp_entry = 0;
  CacheEntry* t = DK_TRY(l2_for_write(off >> (m_cluster_bits + m_l2_bits)));
  const uint64_t idx = (off >> m_cluster_bits) & (l2_entries() - 1);
  const uint32_t esize = m_ext_l2 ? 16 : 8;
  const uint64_t old = load_be64(t->data.data() + idx * esize);
  uint64_t coff = DK_TRY(alloc_bytes(comp.size()));
  DK_TRY(io_write(m_file, coff, comp));
  const uint32_t shift = 62 - (m_cluster_bits - 8);
  uint64_t nb = ((coff + comp.size() - 1) >> 9) - (coff >> 9);
  // alloc_bytes may have evicted the table; fetch it again.
  t = DK_TRY(l2_for_write(off >> (m_cluster_bits + m_l2_bits)));
  release_entry(old);
  DK_TRY(store_entry(t, idx, coff | kOflagCompressed | (nb << shift), 0));
  return {};
}

Result<void> Qcow2Layer::grow_l1(uint64_t new_l1_size) {
  if (new_l1_size * 8 > kMaxL1Bytes) return make_error(EFBIG, m_name + ": L1 table would be too large");
  // Everything the current L1 points at must be on disk first.
  DK_TRY(sync_all());
  const uint64_t clusters = div_round_up(new_l1_size * 8, m_cs);
  const uint64_t fresh = DK_TRY(alloc_clusters(clusters));
  std::vector<uint64_t> l1 = m_l1;
  l1.resize(new_l1_size, 0);
  // Only the entries are written (like QEMU; the rest of the last cluster stays a hole).
  std::vector<std::byte> buf(l1.size() * 8);
  for (size_t i = 0; i < l1.size(); ++i) store_be64(buf.data() + i * 8, l1[i]);
  DK_TRY(flush_refcount_blocks());
  DK_TRY(io_write(m_file, fresh, buf));
  DK_TRY(m_file.flush());
  std::byte hdr[12];
  store_be32(hdr, static_cast<uint32_t>(new_l1_size));
  store_be64(hdr + 4, fresh);
  DK_TRY(io_write(m_file, 36, hdr));
  DK_TRY(m_file.flush());
  const uint64_t old_off = m_info.h.l1_table_offset;
  const uint64_t old_bytes = m_l1.size() * 8;
  m_info.h.l1_size = static_cast<uint32_t>(new_l1_size);
  m_info.h.l1_table_offset = fresh;
  m_l1 = std::move(l1);
  if (old_bytes) {
    free_later(old_off, old_bytes);
    DK_TRY(sync_all());
  }
  return {};
}

Result<void> Qcow2Layer::do_truncate(uint64_t new_size, bool shrink_allowed) {
  // v3 snapshots record their own disk size; v2 ones do not.
  if (!m_snaps.empty() && m_info.h.version < 3)
    return make_error(ENOTSUP, m_name + ": can't resize a v2 image which has snapshots");
  if (new_size % 512) return make_error(EINVAL, m_name + ": the new size must be a multiple of 512");
  const uint64_t old_size = size();
  if (new_size < old_size) {
    if (!shrink_allowed) return make_error(EINVAL, m_name + ": shrinking the image needs --shrink");
    // Drop every cluster wholly beyond the new end.
    const uint64_t span = 1ull << (m_cluster_bits + m_l2_bits);
    uint64_t start = align_up(new_size, m_cs);
    const uint64_t stop = align_up(old_size, m_cs);
    while (start < stop) {
      uint64_t n = std::min<uint64_t>(stop - start, span - (start & (span - 1)));
      const uint64_t l1_index = start >> (m_cluster_bits + m_l2_bits);
      if (l1_index < m_l1.size() && (m_l1[l1_index] & kL1OffsetMask)) {
        CacheEntry* t = DK_TRY(l2_for_write(l1_index));
        const uint32_t esize = m_ext_l2 ? 16 : 8;
        for (uint64_t g = start; g < start + n; g += m_cs) {
          uint64_t idx = (g >> m_cluster_bits) & (l2_entries() - 1);
          release_entry(load_be64(t->data.data() + idx * esize));
          DK_TRY(store_entry(t, idx, 0, 0));
        }
      }
      start += n;
    }
    // L2 tables wholly beyond the end go too.
    const uint64_t span_bits = m_cluster_bits + m_l2_bits;
    for (uint64_t i = div_round_up(new_size, 1ull << span_bits); i < m_l1.size(); ++i) {
      uint64_t l2 = m_l1[i] & kL1OffsetMask;
      if (!l2) continue;
      DK_TRY(sync_all());
      m_l1[i] = 0;
      m_l1_dirty = true;
      DK_TRY(sync_all());
      free_later(l2, m_cs);
    }
  } else {
    const uint64_t need = div_round_up(new_size, 1ull << (m_cluster_bits + m_l2_bits));
    if (need > m_l1.size()) DK_TRY(grow_l1(need));
  }
  DK_TRY(sync_all());
  // A raw external data file must stay a valid raw image of the new size.
  if (m_data_raw) DK_TRY(m_data.truncate(new_size));
  std::byte b[8];
  store_be64(b, new_size);
  DK_TRY(io_write(m_file, 24, b));
  DK_TRY(m_file.flush());
  m_info.h.size = new_size;
  return {};
}

Result<void> Qcow2Layer::write_header() {
  std::vector<std::byte> buf = DK_TRY(serialize_header(m_info, filename()));
  // The whole header cluster in one write (as QEMU does): the fixed header
  // points into the extension area by offset and length, so writing the two
  // parts separately leaves an unopenable header when the process dies in
  // between (found by tests/cli/crash/rebase_crash_test.sh).
  DK_TRY(io_write(m_file, 0, buf));
  DK_TRY(m_file.flush());
  return {};
}

Result<void> Qcow2Layer::set_backing_file(const std::string& name, const std::string& fmt) {
  if (!writable()) return make_error(EROFS, m_name + ": image is opened read-only");
  if (name.size() > kMaxBackingFileName) return make_error(EINVAL, m_name + ": backing file name too long");
  DK_TRY(sync_all());
  HeaderInfo saved = m_info;
  m_info.backing_file = name;
  m_info.backing_format = name.empty() ? std::string() : fmt;
  auto r = write_header();
  if (!r) m_info = std::move(saved);
  return r;
}

}  // namespace dk::fmt::qcow2

namespace dk::fmt::qcow2 {

Result<void> Qcow2Layer::preallocate(uint64_t new_size, int mode) {
  DK_TRY(do_truncate(new_size, false));
  if (mode == 0) return {};
  const uint64_t span = m_cs << m_l2_bits;
  std::vector<std::pair<uint64_t, uint64_t>> runs;
  for (uint64_t off = 0; off < new_size; off += span) {
    const uint64_t l1_index = off / span;
    DK_TRY(l2_for_write(l1_index));
    const uint64_t n = div_round_up(std::min(span, new_size - off), m_cs);
    const uint64_t host = DK_TRY(alloc_data(off, n));
    CacheEntry* t = DK_TRY(l2_for_write(l1_index));
    // With extended L2 the clusters stay unallocated-but-mapped, so a backing file shows through.
    for (uint64_t i = 0; i < n; ++i) DK_TRY(store_entry(t, i, (host + i * m_cs) | kOflagCopied, 0));
    runs.emplace_back(host, n * m_cs);
  }
  DK_TRY(sync_all());
  File& f = data_file();
  for (auto [host, len] : runs) {
    if (mode == 2) {
      DK_TRY(f.fallocate(0, host, len));
    } else if (mode == 3) {
      std::vector<std::byte> z(std::min<uint64_t>(len, 1u << 20));
      for (uint64_t p = 0; p < len; p += z.size())
        DK_TRY(io_write(f, host + p, std::span<const std::byte>(z).first(std::min<uint64_t>(z.size(), len - p))));
    }
  }
  if (!m_data.is_open() && !runs.empty()) {
    uint64_t end = runs.back().first + runs.back().second;
    uint64_t cur = DK_TRY(m_file.size());
    if (end > cur) DK_TRY(m_file.truncate(end));
    m_file_size = std::max(m_file_size, end);
  }
  return sync_all();
}

}  // namespace dk::fmt::qcow2
