// streamOptimized extents: deflate (zlib) compressed grains behind grain
// markers. Reads both layouts: QEMU's (directory and tables preallocated
// after the header, gdOffset set) and VMware's (gdOffset = GD_AT_END; grain
// tables, directory, footer and end-of-stream marker after the grains).
// Writes VMware's layout for files whose header says GD_AT_END, so ESXi
// imports what `convert -o subformat=streamOptimized` produces:
//   header | descriptor | (grain marker + data)* with each grain table
//   (GT marker + GT) emitted once the writes have moved past its range |
//   GD marker + GD | footer marker + footer (header with gdOffset) | EOS.
#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "formats/core/checked_math.h"
#include "formats/core/endian.h"
#include "formats/vmdk/extent.h"
#include "formats/vmdk/stream.h"

namespace dk::fmt::vmdk {

namespace {

constexpr uint64_t kFooterBytes = 3 * kSector;  // footer marker, footer, EOS marker

}  // namespace

Result<uint64_t> write_stream_end(File& f, const SparseExtentHeader& h, std::span<const uint32_t> gd, uint64_t at) {
  const uint64_t gd_sectors = div_round_up(gd.size() * 4, kSector);
  std::vector<std::byte> buf((1 + gd_sectors) * kSector + kFooterBytes);
  encode_marker(gd_sectors, kMarkerGd, std::span(buf).first(kSector));
  for (size_t i = 0; i < gd.size(); ++i) store_le32(buf.data() + kSector + i * 4, gd[i]);
  std::byte* foot = buf.data() + (1 + gd_sectors) * kSector;
  encode_marker(1, kMarkerFooter, std::span(foot, kSector));
  SparseExtentHeader copy = h;
  copy.gdOffset = at / kSector + 1;
  encode_header(copy, std::span(foot + kSector, kSector));
  encode_marker(0, kMarkerEos, std::span(foot + 2 * kSector, kSector));
  DK_TRY(f.pwrite_all(at, buf));
  const uint64_t end = at + buf.size();
  DK_TRY(f.truncate(end));
  return end;
}

Result<std::unique_ptr<StreamExtent>> StreamExtent::open(std::shared_ptr<File> file, uint64_t length) {
  std::array<std::byte, kHeaderSize> buf{};
  DK_TRY(file->pread_exact(0, buf));
  SparseExtentHeader h = DK_TRY(decode_header(buf, file->path()));
  bool footer = false;
  uint64_t tail = 0;
  if (h.gdOffset == kGdAtEnd) {
    // The real header is the footer near the end of the file.
    const uint64_t fsize = DK_TRY(file->size());
    if (fsize < kHeaderSize + kFooterBytes)
      return make_error(EINVAL, "'" + file->path() + "': streamOptimized footer is missing");
    std::vector<std::byte> f(kFooterBytes);
    DK_TRY(file->pread_exact(fsize - kFooterBytes, f));
    const std::byte* m = f.data();
    const std::byte* eos = f.data() + 2 * kSector;
    if (load_le32(m + 8) != 0 || load_le32(m + 12) != kMarkerFooter || load_le64(eos) != 0 ||
        load_le32(eos + 8) != 0 || load_le32(eos + 12) != kMarkerEos)
      return make_error(EINVAL, "'" + file->path() + "': invalid streamOptimized footer");
    h = DK_TRY(decode_header(std::span(f).subspan(kSector, kSector), file->path()));
    if (h.gdOffset == kGdAtEnd || h.gdOffset == 0)
      return make_error(EINVAL, "'" + file->path() + "': invalid grain directory offset in the footer");
    footer = true;
    // New grains go where the directory's marker is (the tail is rewritten).
    tail = (h.gdOffset - 1) * kSector;
  }
  if (length == 0) length = h.capacity * kSector;
  std::unique_ptr<StreamExtent> e(new StreamExtent(std::move(file), length, h));
  e->m_footer = footer;
  e->m_markers = h.flags & kFlagMarkers;
  if (h.grainSize == 0 || h.grainSize > kMaxGrainSectors || !is_pow2(h.grainSize) || h.numGTEsPerGT == 0 ||
      h.numGTEsPerGT > 512 || h.capacity > kMaxCapacitySectors || h.compressAlgorithm != kCompressionDeflate)
    return make_error(EINVAL, "'" + e->path() + "': invalid streamOptimized header");
  DK_TRY(e->load_directory());
  if (footer) {
    if (tail < kSector || tail > e->m_file_end)
      return make_error(EINVAL, "'" + e->path() + "': grain directory offset is beyond the end of the file");
    e->m_tail = tail;
    if (e->writable()) e->m_file_end = tail;
  }
  return e;
}

Result<void> StreamExtent::load_grain(uint64_t g, uint32_t sector) {
  const uint64_t fsize = DK_TRY(m_file->size());
  const uint64_t off = static_cast<uint64_t>(sector) * kSector;
  if (off >= fsize)
    return make_error(EINVAL, where() + ": grain " + std::to_string(g) + " at offset " + std::to_string(off) +
                                  " is beyond the end of the file");
  uint64_t data_off = off, clen = std::min<uint64_t>(2 * m_grain, fsize - off);
  if (m_markers) {
    std::array<std::byte, kGrainMarkerSize> mk{};
    DK_TRY(m_file->pread_exact(off, mk));
    clen = load_le32(mk.data() + 8);
    data_off = off + kGrainMarkerSize;
    if (clen == 0 || clen > 2 * m_grain + 1024 || !range_within(data_off, clen, fsize))
      return make_error(EINVAL, where() + ": invalid compressed grain " + std::to_string(g) + " at offset " +
                                    std::to_string(off));
  }
  std::vector<std::byte> comp(clen);
  DK_TRY(m_file->pread_exact(data_off, comp));
  m_cache.assign(m_grain, std::byte{0});
  uLongf out_len = m_grain;
  int zr = uncompress(reinterpret_cast<Bytef*>(m_cache.data()), &out_len,
                      reinterpret_cast<const Bytef*>(comp.data()), clen);
  if (zr != Z_OK)
    return make_error(EIO, where() + ": cannot decompress grain " + std::to_string(g) + " at offset " +
                               std::to_string(off));
  m_cache.resize(out_len);
  m_cached = g;
  return {};
}

Result<void> StreamExtent::read(uint64_t rel, std::span<std::byte> out, const BelowFn& below) {
  while (!out.empty()) {
    const uint64_t g = rel / m_grain, in = rel % m_grain;
    const size_t n = std::min<uint64_t>(out.size(), m_grain - in);
    if (g == m_pending) {
      std::memcpy(out.data(), m_pend.data() + in, n);
    } else {
      const uint32_t e = DK_TRY(lookup(g));
      if (e == 0) {
        DK_TRY(below(rel, out.first(n)));
      } else if (e == kGteZeroed && (m_h.flags & kFlagZeroGrain)) {
        std::memset(out.data(), 0, n);
      } else {
        if (m_cached != g) {
          m_cached = UINT64_MAX;
          DK_TRY(load_grain(g, e));
        }
        if (in + n > m_cache.size())
          return make_error(EIO, where() + ": compressed grain " + std::to_string(g) + " is too short");
        std::memcpy(out.data(), m_cache.data() + in, n);
      }
    }
    rel += n;
    out = out.subspan(n);
  }
  return {};
}

// Sequential writes: the grain being filled stays in memory until a write
// moves to another grain (or flush), then it is compressed and appended.
// A grain already in the file cannot be rewritten (QEMU refuses too).
Result<void> StreamExtent::write(uint64_t rel, std::span<const std::byte> in, const BelowFn& below) {
  while (!in.empty()) {
    const uint64_t g = rel / m_grain, inside = rel % m_grain;
    const size_t n = std::min<uint64_t>(in.size(), m_grain - inside);
    const uint64_t gstart = g * m_grain;
    const uint64_t avail = std::min<uint64_t>(m_grain, m_length - gstart);
    if (g != m_pending) {
      const uint32_t e = DK_TRY(lookup(g));
      if (e != 0 && !(e == kGteZeroed && (m_h.flags & kFlagZeroGrain)))
        return make_error(EIO, where() + ": could not write to allocated grain " + std::to_string(g) +
                                   " of a streamOptimized image (streams are written once, in order)");
      DK_TRY(commit_pending());
      m_pend.assign(avail, std::byte{0});
      if (e == 0 && (inside != 0 || n != avail)) DK_TRY(below(gstart, m_pend));
      m_pending = g;
    }
    std::memcpy(m_pend.data() + inside, in.data(), n);
    if (inside + n == avail && inside == 0) DK_TRY(commit_pending());
    rel += n;
    in = in.subspan(n);
  }
  return {};
}

Result<void> StreamExtent::write_compressed(uint64_t rel, std::span<const std::byte> in, const BelowFn& below) {
  return write(rel, in, below);
}

Result<void> StreamExtent::commit_pending() {
  if (m_pending == UINT64_MAX) return {};
  const uint64_t g = m_pending;
  m_pending = UINT64_MAX;
  return append_grain(g, m_pend);
}

Result<void> StreamExtent::emit_tables(uint64_t below_gt) {
  const uint64_t gt_sectors = div_round_up(static_cast<uint64_t>(m_h.numGTEsPerGT) * 4, kSector);
  for (auto it = m_gt_dirty.begin(); it != m_gt_dirty.end() && it->first < below_gt;) {
    const uint64_t ti = it->first;
    std::vector<std::byte> buf((1 + gt_sectors) * kSector);
    encode_marker(gt_sectors, kMarkerGt, std::span(buf).first(kSector));
    const std::vector<uint32_t>& t = m_gts.at(ti);
    for (size_t i = 0; i < t.size(); ++i) store_le32(buf.data() + kSector + i * 4, t[i]);
    const uint64_t at = m_file_end;
    if (at / kSector + 1 > UINT32_MAX) return make_error(EFBIG, where() + ": stream too large");
    DK_TRY(m_file->pwrite_all(at, buf));
    m_file_end += buf.size();
    m_gd[ti] = static_cast<uint32_t>(at / kSector + 1);
    it = m_gt_dirty.erase(it);
  }
  return {};
}

Result<void> StreamExtent::append_grain(uint64_t g, std::span<const std::byte> data) {
  const uint64_t ti = g / m_h.numGTEsPerGT;
  // Tables of ranges the (sequential) writer has left behind go out now,
  // interleaved with the grains as VMware's tools write them.
  if (m_footer) DK_TRY(emit_tables(ti));
  uLongf clen = compressBound(data.size());
  std::vector<std::byte> buf(kGrainMarkerSize + clen + kSector);
  const size_t hdr = m_markers ? kGrainMarkerSize : 0;
  if (compress(reinterpret_cast<Bytef*>(buf.data() + hdr), &clen, reinterpret_cast<const Bytef*>(data.data()),
               data.size()) != Z_OK)
    return make_error(EIO, where() + ": compression failed");
  if (m_markers) {
    store_le64(buf.data(), g * m_grain / kSector);
    store_le32(buf.data() + 8, static_cast<uint32_t>(clen));
  }
  const uint64_t rec = align_up(hdr + clen, kSector);
  std::memset(buf.data() + hdr + clen, 0, rec - hdr - clen);
  const uint64_t at = m_file_end;
  if (at / kSector > UINT32_MAX) return make_error(EFBIG, where() + ": stream too large");
  DK_TRY(m_file->pwrite_all(at, std::span(buf).first(rec)));
  m_file_end += rec;
  if (m_cached == g) m_cached = UINT64_MAX;
  if (!m_footer) return set_entry(g, static_cast<uint32_t>(at / kSector));
  std::vector<uint32_t>* t = DK_TRY(table(ti));
  if (!t) {
    if (ti >= m_gd.size()) return make_error(EINVAL, where() + ": write beyond the grain directory");
    t = &m_gts[ti];
    t->assign(m_h.numGTEsPerGT, 0);
  }
  (*t)[g % m_h.numGTEsPerGT] = static_cast<uint32_t>(at / kSector);
  m_gt_dirty[ti] = true;
  m_dirty = true;
  return {};
}

Result<void> StreamExtent::flush() {
  if (!writable()) return {};
  DK_TRY(commit_pending());
  if (m_footer && m_dirty) {
    DK_TRY(emit_tables(UINT64_MAX));
    const uint64_t gd_at = m_file_end;
    DK_TRY(write_stream_end(*m_file, m_h, m_gd, gd_at));
    // Later appends overwrite the directory and footer; the next flush
    // writes them again after the new grains.
    m_file_end = gd_at;
    m_dirty = false;
  }
  return m_file->flush();
}

Result<Extent> StreamExtent::block_status(uint64_t rel, uint64_t len) {
  Extent x;
  x.file = path();
  auto status = [&](uint64_t g) -> Result<uint32_t> {
    if (g == m_pending) return kStatusData;
    const uint32_t e = DK_TRY(lookup(g));
    if (e == 0) return 0u;
    if (e == kGteZeroed && (m_h.flags & kFlagZeroGrain)) return kStatusZero;
    return kStatusData;  // compressed: no host offset
  };
  uint64_t g = rel / m_grain;
  x.flags = DK_TRY(status(g));
  x.length = std::min<uint64_t>(len, m_grain - rel % m_grain);
  while (x.length < len && x.length < (256u << 20)) {
    if (DK_TRY(status(++g)) != x.flags) break;
    x.length = std::min<uint64_t>(len, x.length + m_grain);
  }
  return x;
}

}  // namespace dk::fmt::vmdk
