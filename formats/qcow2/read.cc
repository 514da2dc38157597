// Reading and block status.
#include <algorithm>
#include <cstring>

#include "formats/core/checked_math.h"
#include "formats/qcow2/qcow2.h"

namespace dk::fmt::qcow2 {

Result<void> Qcow2Layer::read_compressed(uint64_t entry, std::vector<std::byte>& out) {
  const uint32_t shift = 62 - (m_cluster_bits - 8);
  const uint64_t size_mask = (1ull << (m_cluster_bits - 8)) - 1;
  const uint64_t coffset = entry & ((1ull << shift) - 1);
  const uint64_t nb_sectors = ((entry >> shift) & size_mask) + 1;
  const uint64_t csize = nb_sectors * 512 - (coffset & 511);
  // The last sector may run past the end of the file (QEMU does not pad it).
  if (coffset >= m_file_size || coffset + csize > align_up(m_file_size, 512) + 512)
    return make_error(EIO, m_name + ": compressed cluster at " + hex(coffset) + " (" + std::to_string(csize) +
                               " bytes) is beyond the end of the file");
  if (coffset < m_cs)
    return make_error(EIO, m_name + ": compressed cluster at " + hex(coffset) + " overlaps the header");
  out.resize(m_cs);
  if (m_comp_entry == entry && m_comp_buf.size() == m_cs) {
    std::memcpy(out.data(), m_comp_buf.data(), m_cs);
    return {};
  }
  std::vector<std::byte> in(csize);
  DK_TRY(io_read(m_file, coffset, in));
  DK_TRY_CTX(decompress_cluster(m_info.h.compression_type, in, out),
             m_name + ": compressed cluster at " + hex(coffset));
  m_comp_entry = entry;
  m_comp_buf = out;
  return {};
}

Result<void> Qcow2Layer::do_read(uint64_t off, std::span<std::byte> out) {
  std::vector<std::byte> cbuf;
  while (!out.empty()) {
    Mapping m = DK_TRY(lookup(m_l1, off, out.size(), false));
    auto part = out.first(m.bytes);
    switch (m.type) {
      case Sub::kUnallocPlain:
      case Sub::kUnallocAlloc:
        DK_TRY(read_below(off, part));
        break;
      case Sub::kZeroPlain:
      case Sub::kZeroAlloc:
        std::memset(part.data(), 0, part.size());
        break;
      case Sub::kNormal:
        DK_TRY(io_read(data_file(), m.host, part));
        break;
      case Sub::kCompressed:
        DK_TRY(read_compressed(m.l2_entry, cbuf));
        std::memcpy(part.data(), cbuf.data() + (off & (m_cs - 1)), part.size());
        break;
      case Sub::kInvalid:
        return make_error(EIO, m_name + ": invalid cluster");
    }
    off += m.bytes;
    out = out.subspan(m.bytes);
  }
  return {};
}

Result<HostMapped::Run> Qcow2Layer::host_run(uint64_t off, uint64_t len) {
  Mapping m = DK_TRY(lookup(m_l1, off, len, false));
  if (m.type != Sub::kNormal || m_direct) return Run{-1, 0, m.bytes};
  const File& f = data_file();
  const uint64_t fsize = m_data.is_open() ? DK_TRY(f.size()) : m_file_size;
  if (m.host >= fsize) return Run{-1, 0, m.bytes};
  return Run{f.fd(), m.host, std::min(m.bytes, fsize - m.host)};
}

namespace {

// Number of non-zero refcount entries [first, last) in a refcount block of
// `bits`-bit entries. Only zero versus non-zero matters, so byte order does not.
uint64_t count_nonzero_entries(const std::byte* b, uint64_t first, uint64_t last, uint32_t bits) {
  uint64_t n = 0;
  if (bits >= 8) {
    const uint64_t w = bits / 8;
    for (uint64_t i = first; i < last; ++i) {
      const std::byte* e = b + i * w;
      bool nz = false;
      for (uint64_t k = 0; k < w; ++k) nz |= e[k] != std::byte{0};
      n += nz;
    }
    return n;
  }
  const unsigned mask = (1u << bits) - 1;
  for (uint64_t i = first; i < last; ++i) {
    const uint64_t bit = i * bits;
    n += ((std::to_integer<unsigned>(b[bit / 8]) >> (bit % 8)) & mask) != 0;
  }
  return n;
}

}  // namespace

// QEMU's heuristic: more clusters in use by refcount than the file really
// allocates means preallocation=metadata, and then holes in the host file
// read as zero.
Result<bool> Qcow2Layer::metadata_preallocated() {
  if (m_meta_prealloc) return *m_meta_prealloc;
  uint64_t file_length = DK_TRY(m_file.size());
  uint64_t real = DK_TRY(m_file.allocated_size());
  uint64_t real_clusters = real / m_cs;
  uint64_t threshold = std::max(real_clusters * 10 / 9, real_clusters + 2);
  uint64_t end = div_round_up(file_length, m_cs);
  uint64_t n = 0;
  // Counts a whole refcount block at a time (one cache lookup per block, not
  // per cluster) and stops once the count reaches the threshold, so the work
  // stays bounded on big files.
  for (uint64_t c = 0; c < end && n < threshold;) {
    const uint64_t rt_index = c / m_rb_entries;
    const uint64_t block_end = std::min(end, (rt_index + 1) * m_rb_entries);
    if (rt_index >= m_rt.size()) break;  // no refcount block: all zero from here
    const uint64_t rb = m_rt[rt_index] & kRefTableOffsetMask;
    if (rb != 0) {
      CacheEntry* e = DK_TRY(rb_load(rb));
      n += count_nonzero_entries(e->data.data(), c % m_rb_entries, block_end - rt_index * m_rb_entries,
                                 m_refcount_bits);
    }
    c = block_end;
  }
  bool result = n >= threshold;
  m_meta_prealloc = result;
  return result;
}

Result<Extent> Qcow2Layer::do_block_status(uint64_t off, uint64_t len) {
  Mapping m = DK_TRY(lookup(m_l1, off, len, true));
  Extent e;
  e.length = m.bytes;
  const std::string& host_name = m_data.is_open() ? m_data_path : filename();
  switch (m.type) {
    case Sub::kNormal:
      e.flags = kStatusData | kStatusOffsetValid;
      break;
    case Sub::kZeroPlain:
      e.flags = kStatusZero;
      break;
    case Sub::kZeroAlloc:
      e.flags = kStatusZero | kStatusOffsetValid;
      break;
    case Sub::kUnallocAlloc:
      e.flags = kStatusOffsetValid;
      break;
    case Sub::kUnallocPlain:
      e.flags = 0;
      break;
    case Sub::kCompressed:
      e.flags = kStatusData;
      break;
    case Sub::kInvalid:
      return make_error(EIO, m_name + ": invalid cluster");
  }
  if (e.flags & kStatusOffsetValid) {
    e.offset = m.host;
    e.file = host_name;
  }
  // Not with an external data file: qemu-img map 7.2 does not recurse there.
  if (m.type == Sub::kNormal && !m_data.is_open() && DK_TRY(metadata_preallocated())) {
    const File& f = data_file();
    uint64_t fsize = DK_TRY(f.size());
    if (m.host >= fsize) {
      e.flags |= kStatusZero;
    } else {
      uint64_t data = DK_TRY(f.seek_data(m.host));
      if (data > m.host) {
        // A hole: zero, limited to the hole unless it runs to the end of the file.
        e.flags |= kStatusZero;
        if (data < fsize) e.length = std::min(e.length, data - m.host);
      } else {
        uint64_t hole = DK_TRY(f.seek_hole(m.host));
        e.length = std::min(e.length, hole - m.host);
      }
    }
  }
  return e;
}

}  // namespace dk::fmt::qcow2
