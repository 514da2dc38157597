// The hosted sparse extent: SparseExtentHeader, grain directory (and its
// redundant copy), grain tables, zeroed grains (GTE 1).
#include <algorithm>
#include <cstring>

#include "formats/core/checked_math.h"
#include "formats/core/endian.h"
#include "formats/vmdk/extent.h"

namespace dk::fmt::vmdk {

Result<SparseExtentHeader> decode_header(std::span<const std::byte> b, const std::string& file) {
  if (b.size() < kHeaderSize) return make_error(EINVAL, "'" + file + "': VMDK header is truncated");
  const std::byte* p = b.data();
  SparseExtentHeader h;
  h.magicNumber = load_le32(p + 0);
  if (h.magicNumber != kSparseMagic) return make_error(EINVAL, "'" + file + "': not a VMDK sparse extent");
  h.version = load_le32(p + 4);
  h.flags = load_le32(p + 8);
  h.capacity = load_le64(p + 12);
  h.grainSize = load_le64(p + 20);
  h.descriptorOffset = load_le64(p + 28);
  h.descriptorSize = load_le64(p + 36);
  h.numGTEsPerGT = load_le32(p + 44);
  h.rgdOffset = load_le64(p + 48);
  h.gdOffset = load_le64(p + 56);
  h.overHead = load_le64(p + 64);
  h.uncleanShutdown = static_cast<uint8_t>(p[72]);
  h.compressAlgorithm = load_le16(p + 77);
  return h;
}

void encode_header(const SparseExtentHeader& h, std::span<std::byte> out) {
  std::memset(out.data(), 0, kHeaderSize);
  std::byte* p = out.data();
  store_le32(p + 0, h.magicNumber);
  store_le32(p + 4, h.version);
  store_le32(p + 8, h.flags);
  store_le64(p + 12, h.capacity);
  store_le64(p + 20, h.grainSize);
  store_le64(p + 28, h.descriptorOffset);
  store_le64(p + 36, h.descriptorSize);
  store_le32(p + 44, h.numGTEsPerGT);
  store_le64(p + 48, h.rgdOffset);
  store_le64(p + 56, h.gdOffset);
  store_le64(p + 64, h.overHead);
  p[72] = std::byte{h.uncleanShutdown};
  // Newline-detection bytes: a transfer that mangles line endings shows here.
  p[73] = std::byte{'\n'};
  p[74] = std::byte{' '};
  p[75] = std::byte{'\r'};
  p[76] = std::byte{'\n'};
  store_le16(p + 77, h.compressAlgorithm);
}

void encode_marker(uint64_t num_sectors, uint32_t type, std::span<std::byte> out) {
  std::memset(out.data(), 0, kSector);
  store_le64(out.data(), num_sectors);
  store_le32(out.data() + 8, 0);
  store_le32(out.data() + 12, type);
}

// ---- VmdkExtent defaults ----

Result<void> VmdkExtent::write(uint64_t, std::span<const std::byte>, const BelowFn&) {
  return make_error(ENOTSUP, "'" + path() + "': writing to this extent type is not supported");
}
Result<void> VmdkExtent::write_zeroes(uint64_t, uint64_t, const BelowFn&) {
  return make_error(ENOTSUP, "no efficient zeroing");
}
// Like QEMU, compressed writes to uncompressed extents store plain data.
Result<void> VmdkExtent::write_compressed(uint64_t rel, std::span<const std::byte> in, const BelowFn& below) {
  return write(rel, in, below);
}
Result<void> VmdkExtent::grow(uint64_t) {
  return make_error(ENOTSUP, "'" + path() + "': cannot resize this extent type");
}

// ---- SparseExtent ----

namespace {

Result<void> validate_header(const SparseExtentHeader& h, const std::string& f) {
  auto bad = [&](const std::string& what) { return make_error(EINVAL, "'" + f + "': " + what); };
  if (h.version > 3) return bad("unsupported VMDK version " + std::to_string(h.version));
  if (h.grainSize == 0 || h.grainSize > kMaxGrainSectors || !is_pow2(h.grainSize))
    return bad("invalid grain size " + std::to_string(h.grainSize) + " sectors");
  if (h.numGTEsPerGT == 0 || h.numGTEsPerGT > 512)
    return bad("invalid number of grain table entries " + std::to_string(h.numGTEsPerGT));
  if (h.capacity > kMaxCapacitySectors) return bad("capacity " + std::to_string(h.capacity) + " sectors is too large");
  if ((h.flags & kFlagCompressed) && h.compressAlgorithm != kCompressionDeflate)
    return bad("unsupported compression algorithm " + std::to_string(h.compressAlgorithm));
  return {};
}

}  // namespace

Result<std::unique_ptr<VmdkExtent>> open_sparse_file(std::shared_ptr<File> file, uint64_t length) {
  std::array<std::byte, kHeaderSize> buf{};
  DK_TRY(file->pread_fill(0, buf));
  if (load_le32(buf.data()) == kCowdMagic)
    return std::unique_ptr<VmdkExtent>(DK_TRY(SparseExtent::open_cowd(std::move(file), length)));
  SparseExtentHeader h = DK_TRY(decode_header(buf, file->path()));
  if (h.flags & kFlagCompressed) return std::unique_ptr<VmdkExtent>(DK_TRY(StreamExtent::open(std::move(file), length)));
  return std::unique_ptr<VmdkExtent>(DK_TRY(SparseExtent::open(std::move(file), length)));
}

Result<std::unique_ptr<SparseExtent>> SparseExtent::open(std::shared_ptr<File> file, uint64_t length) {
  std::array<std::byte, kHeaderSize> buf{};
  DK_TRY(file->pread_exact(0, buf));
  SparseExtentHeader h = DK_TRY(decode_header(buf, file->path()));
  DK_TRY(validate_header(h, file->path()));
  if (length == 0) length = h.capacity * kSector;
  std::unique_ptr<SparseExtent> e(new SparseExtent(std::move(file), length, h));
  DK_TRY(e->load_directory());
  return e;
}

// VMFSSPARSE: after the magic, version, flags, disk_sectors, granularity,
// l1dir_offset, l1dir_size (32-bit each); 4096 entries per grain table, all
// offsets in sectors, no zeroed grains and no redundant directory.
Result<std::unique_ptr<SparseExtent>> SparseExtent::open_cowd(std::shared_ptr<File> file, uint64_t length) {
  std::array<std::byte, 28> b{};
  DK_TRY(file->pread_exact(0, b));
  SparseExtentHeader h;
  h.magicNumber = kCowdMagic;
  h.version = load_le32(b.data() + 4);
  h.capacity = load_le32(b.data() + 12);
  h.grainSize = load_le32(b.data() + 16);
  h.gdOffset = load_le32(b.data() + 20);
  h.numGTEsPerGT = 4096;
  const std::string f = file->path();
  if (h.grainSize == 0 || h.grainSize > kMaxGrainSectors || !is_pow2(h.grainSize))
    return make_error(EINVAL, "'" + f + "': invalid grain size " + std::to_string(h.grainSize) + " sectors");
  if (h.capacity == 0) return make_error(EINVAL, "'" + f + "': VMFSSPARSE extent has no sectors");
  if (length == 0) length = h.capacity * kSector;
  std::unique_ptr<SparseExtent> e(new SparseExtent(std::move(file), length, h));
  e->m_read_only = true;
  DK_TRY(e->load_directory());
  return e;
}

Result<void> SparseExtent::load_directory() {
  const uint64_t fsize = DK_TRY(m_file->size());
  m_file_end = align_up(fsize, kSector);
  const uint64_t per_gt = static_cast<uint64_t>(m_h.numGTEsPerGT) * m_h.grainSize;  // sectors
  const uint64_t entries = div_round_up(std::max(m_h.capacity, div_round_up(m_length, kSector)), per_gt);
  if (entries > kMaxGdEntries) return make_error(EFBIG, where() + ": grain directory is too large");
  auto read_gd = [&](uint64_t sector, std::vector<uint32_t>& out, const char* what) -> Result<void> {
    auto off = checked_mul(sector, kSector);
    if (!off || !range_within(*off, entries * 4, fsize))
      return make_error(EINVAL, where() + ": " + what + " offset 0x" + ([&] {
                                  char s[32];
                                  std::snprintf(s, sizeof s, "%llx", static_cast<unsigned long long>(sector * kSector));
                                  return std::string(s);
                                })() + " is beyond the end of the file");
    std::vector<std::byte> raw(entries * 4);
    DK_TRY(m_file->pread_exact(*off, raw));
    out.resize(entries);
    for (uint64_t i = 0; i < entries; ++i) out[i] = load_le32(raw.data() + i * 4);
    return {};
  };
  DK_TRY(read_gd(m_h.gdOffset, m_gd, "grain directory"));
  if (m_h.flags & kFlagRedundantGt) DK_TRY(read_gd(m_h.rgdOffset, m_rgd, "redundant grain directory"));
  return {};
}

Result<std::vector<uint32_t>*> SparseExtent::table(uint64_t gt_index) {
  if (auto it = m_gts.find(gt_index); it != m_gts.end()) return &it->second;
  if (gt_index >= m_gd.size() || m_gd[gt_index] == 0) return nullptr;
  const uint64_t bytes = static_cast<uint64_t>(m_h.numGTEsPerGT) * 4;
  const uint64_t off = static_cast<uint64_t>(m_gd[gt_index]) * kSector;
  if (!range_within(off, bytes, DK_TRY(m_file->size())))
    return make_error(EINVAL, where() + ": grain table " + std::to_string(gt_index) + " at offset " +
                                  std::to_string(off) + " is beyond the end of the file");
  std::vector<std::byte> raw(bytes);
  DK_TRY(m_file->pread_exact(off, raw));
  // Bounded cache: drop everything when it grows past 64 MiB of tables.
  if (m_gts.size() * bytes > (64u << 20) && can_evict_tables()) m_gts.clear();
  std::vector<uint32_t>& t = m_gts[gt_index];
  t.resize(m_h.numGTEsPerGT);
  for (uint32_t i = 0; i < m_h.numGTEsPerGT; ++i) t[i] = load_le32(raw.data() + i * 4);
  return &t;
}

Result<uint32_t> SparseExtent::lookup(uint64_t g) {
  std::vector<uint32_t>* t = DK_TRY(table(g / m_h.numGTEsPerGT));
  return t ? (*t)[g % m_h.numGTEsPerGT] : 0u;
}

Result<void> SparseExtent::check_grain(uint64_t g, uint32_t sector, uint64_t need) const {
  const uint64_t off = static_cast<uint64_t>(sector) * kSector;
  if (off >= m_file_end || need > m_file_end - off)
    return make_error(EINVAL, where() + ": grain " + std::to_string(g) + " at offset " + std::to_string(off) +
                                  " is beyond the end of the file");
  return {};
}

// A grain table for a directory entry that has none (images from other
// tools may leave them out): zeroed tables at the end of the file, data
// before the directory entries that point at them.
Result<void> SparseExtent::allocate_table(uint64_t gt_index) {
  if (gt_index >= m_gd.size())
    return make_error(EINVAL, where() + ": write beyond the grain directory");
  const uint64_t bytes = align_up(static_cast<uint64_t>(m_h.numGTEsPerGT) * 4, kSector);
  std::vector<std::byte> zero(bytes);
  auto put = [&](std::vector<uint32_t>& gd, uint64_t gd_sector) -> Result<void> {
    const uint64_t at = m_file_end;
    if (at / kSector > UINT32_MAX) return make_error(EFBIG, where() + ": extent file too large");
    DK_TRY(m_file->pwrite_all(at, zero));
    m_file_end += bytes;
    gd[gt_index] = static_cast<uint32_t>(at / kSector);
    std::array<std::byte, 4> le{};
    store_le32(le.data(), gd[gt_index]);
    return m_file->pwrite_all(gd_sector * kSector + gt_index * 4, le);
  };
  DK_TRY(put(m_gd, m_h.gdOffset));
  if (!m_rgd.empty()) DK_TRY(put(m_rgd, m_h.rgdOffset));
  m_gts[gt_index].assign(m_h.numGTEsPerGT, 0);
  return {};
}

Result<void> SparseExtent::set_entry(uint64_t g, uint32_t value) {
  const uint64_t ti = g / m_h.numGTEsPerGT, j = g % m_h.numGTEsPerGT;
  std::vector<uint32_t>* t = DK_TRY(table(ti));
  if (!t) {
    DK_TRY(allocate_table(ti));
    t = DK_TRY(table(ti));
  }
  (*t)[j] = value;
  std::array<std::byte, 4> le{};
  store_le32(le.data(), value);
  DK_TRY(m_file->pwrite_all(static_cast<uint64_t>(m_gd[ti]) * kSector + j * 4, le));
  if (!m_rgd.empty() && ti < m_rgd.size() && m_rgd[ti])
    DK_TRY(m_file->pwrite_all(static_cast<uint64_t>(m_rgd[ti]) * kSector + j * 4, le));
  return {};
}

Result<void> SparseExtent::read(uint64_t rel, std::span<std::byte> out, const BelowFn& below) {
  while (!out.empty()) {
    const uint64_t g = rel / m_grain, in = rel % m_grain;
    const size_t n = std::min<uint64_t>(out.size(), m_grain - in);
    const uint32_t e = DK_TRY(lookup(g));
    if (e == 0) {
      DK_TRY(below(rel, out.first(n)));
    } else if (e == kGteZeroed && (m_h.flags & kFlagZeroGrain)) {
      std::memset(out.data(), 0, n);
    } else {
      DK_TRY(check_grain(g, e, in + 1));
      DK_TRY(m_file->pread_fill(static_cast<uint64_t>(e) * kSector + in, out.first(n)));
    }
    rel += n;
    out = out.subspan(n);
  }
  return {};
}

Result<void> SparseExtent::write(uint64_t rel, std::span<const std::byte> in, const BelowFn& below) {
  std::vector<std::byte> grain;
  while (!in.empty()) {
    const uint64_t g = rel / m_grain, inside = rel % m_grain;
    const size_t n = std::min<uint64_t>(in.size(), m_grain - inside);
    const uint32_t e = DK_TRY(lookup(g));
    const bool zeroed = e == kGteZeroed && (m_h.flags & kFlagZeroGrain);
    if (e != 0 && !zeroed) {
      DK_TRY(check_grain(g, e, inside + n));
      DK_TRY(m_file->pwrite_all(static_cast<uint64_t>(e) * kSector + inside, in.first(n)));
    } else {
      // New grain at the end of the file: the untouched part comes from
      // below (or is zero for a zeroed grain); data first, then the entry.
      grain.assign(m_grain, std::byte{0});
      const uint64_t gstart = g * m_grain;
      if (!zeroed && (inside != 0 || n != m_grain)) {
        const uint64_t avail = std::min<uint64_t>(m_grain, m_length - gstart);
        DK_TRY(below(gstart, std::span(grain).first(avail)));
      }
      std::memcpy(grain.data() + inside, in.data(), n);
      const uint64_t at = m_file_end;
      if (at / kSector > UINT32_MAX) return make_error(EFBIG, where() + ": extent file too large");
      DK_TRY(m_file->pwrite_all(at, grain));
      m_file_end += m_grain;
      DK_TRY(set_entry(g, static_cast<uint32_t>(at / kSector)));
    }
    rel += n;
    in = in.subspan(n);
  }
  return {};
}

Result<void> SparseExtent::write_zeroes(uint64_t rel, uint64_t len, const BelowFn& below) {
  if (!(m_h.flags & kFlagZeroGrain)) return make_error(ENOTSUP, "no zeroed grains");
  std::vector<std::byte> zero;
  while (len) {
    const uint64_t g = rel / m_grain, inside = rel % m_grain;
    const uint64_t n = std::min<uint64_t>(len, m_grain - inside);
    if (inside == 0 && (n == m_grain || rel + n == m_length)) {
      DK_TRY(set_entry(g, kGteZeroed));  // a data grain it replaces is leaked, as in QEMU
    } else {
      zero.assign(n, std::byte{0});
      DK_TRY(write(rel, zero, below));
    }
    rel += n;
    len -= n;
  }
  return {};
}

Result<Extent> SparseExtent::block_status(uint64_t rel, uint64_t len) {
  Extent x;
  x.file = path();
  auto status = [&](uint64_t g, uint32_t e, Extent& s) {
    s.flags = 0;
    if (e == 0) return;
    if (e == kGteZeroed && (m_h.flags & kFlagZeroGrain)) {
      s.flags = kStatusZero;
    } else {
      s.flags = kStatusData | kStatusOffsetValid;
      s.offset = static_cast<uint64_t>(e) * kSector + (g == rel / m_grain ? rel % m_grain : 0);
    }
  };
  uint64_t g = rel / m_grain;
  status(g, DK_TRY(lookup(g)), x);
  if (x.flags & kStatusOffsetValid) DK_TRY(check_grain(g, static_cast<uint32_t>((x.offset - rel % m_grain) / kSector), 1));
  x.length = std::min<uint64_t>(len, m_grain - rel % m_grain);
  // Merge following grains with the same status (and contiguous data).
  while (x.length < len && x.length < (256u << 20)) {
    ++g;
    Extent y;
    status(g, DK_TRY(lookup(g)), y);
    if (y.flags != x.flags) break;
    if ((y.flags & kStatusOffsetValid) && y.offset != x.offset + x.length) break;
    x.length = std::min<uint64_t>(len, x.length + m_grain);
  }
  return x;
}

// Growing keeps the grain directory where it is: it may use the rest of the
// directory's last sector (zero entries); the new grain tables are
// allocated at the end of the file on first write.
Result<void> SparseExtent::grow(uint64_t new_length) {
  const uint64_t per_gt = static_cast<uint64_t>(m_h.numGTEsPerGT) * m_grain;
  const uint64_t room = align_up(m_gd.size() * 4, kSector) / 4;
  const uint64_t need = div_round_up(new_length, per_gt);
  if (need > room)
    return make_error(ENOTSUP, where() + ": cannot grow beyond " + std::to_string(room * per_gt) +
                                   " bytes (the grain directory is full)");
  m_gd.resize(std::max<uint64_t>(need, m_gd.size()), 0);
  if (!m_rgd.empty()) m_rgd.resize(m_gd.size(), 0);
  m_h.capacity = div_round_up(new_length, kSector);
  std::array<std::byte, kHeaderSize> buf{};
  encode_header(m_h, buf);
  DK_TRY(m_file->pwrite_all(0, buf));
  m_length = new_length;
  return {};
}

}  // namespace dk::fmt::vmdk
