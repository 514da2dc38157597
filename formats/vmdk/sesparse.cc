// SESPARSE extents (VMware "space-efficient sparse", seSparse), read-only.
//
// Layout, all little-endian 64-bit fields, offsets and sizes in sectors:
//  constant header (sector 0): magic 0xcafebabe, version 0x200000001,
//   capacity, grain size (8), grain table size (64), flags (0), four reserved
//   words (0), then offset/size pairs of the volatile header, journal
//   header, journal, grain directory, grain tables, free bitmap, backmap and
//   grains; the rest of the 512 bytes is zero padding.
//  volatile header: magic 0xcafecafe, free GT number, next transaction
//   number, replay-journal flag (must be 0: journals are not replayed), zero
//   padding.
//  grain directory entry: 0 = no table, else 0x1 in the top nibble and the
//   table's index (in grain_tables) in the low 32 bits; the upper 32 bits
//   must be exactly 0x10000000.
//  grain table entry (4096 per table): top nibble 0 = unallocated (the rest
//   must be 0), 1 = unmapped and 2 = zero (both read as zero), 3 = allocated
//   with a 60-bit grain index whose low 12 bits sit in bits 48..59 and high
//   bits in bits 0..47; the grain is at grains_offset + index * 8 sectors.
#include <algorithm>
#include <array>
#include <cstring>

#include "formats/core/checked_math.h"
#include "formats/core/endian.h"
#include "formats/vmdk/extent.h"

namespace dk::fmt::vmdk {

namespace {

constexpr uint64_t kConstMagic = 0xcafebabeull;
constexpr uint64_t kVolatileMagic = 0xcafecafeull;
constexpr uint64_t kVersion = 0x200000001ull;
// 64 TiB / 16 MiB per grain table: the largest seSparse disk.
constexpr uint64_t kMaxSeGdEntries = 4u << 20;

std::string hex(uint64_t v) {
  char s[32];
  std::snprintf(s, sizeof s, "0x%llx", static_cast<unsigned long long>(v));
  return s;
}

bool all_zero(std::span<const std::byte> b) {
  return std::all_of(b.begin(), b.end(), [](std::byte x) { return x == std::byte{0}; });
}

}  // namespace

Result<std::unique_ptr<SeSparseExtent>> SeSparseExtent::open(std::shared_ptr<File> file, uint64_t length) {
  const std::string f = "'" + file->path() + "'";
  auto bad = [&](const std::string& what) { return make_error(EINVAL, f + ": " + what); };
  std::array<std::byte, kHeaderSize> h{};
  DK_TRY(file->pread_fill(0, h));
  auto q = [&](int i) { return load_le64(h.data() + 8 * i); };
  if (q(0) != kConstMagic) return bad("bad seSparse constant header magic " + hex(q(0)));
  if (q(1) != kVersion) return bad("unsupported seSparse version " + hex(q(1)));
  const uint64_t capacity = q(2);
  if (q(3) != 8) return bad("unsupported seSparse grain size " + std::to_string(q(3)) + " sectors");
  if (q(4) != 64) return bad("unsupported seSparse grain table size " + std::to_string(q(4)) + " sectors");
  if (q(5) != 0) return bad("unsupported seSparse flags " + hex(q(5)));
  if (q(6) | q(7) | q(8) | q(9)) return bad("unsupported seSparse reserved bits");
  // 26 header words; the rest is padding.
  if (!all_zero(std::span(h).subspan(26 * 8))) return bad("non-zero seSparse constant header padding");
  const uint64_t vol_off = q(10), gd_off = q(16), gd_size = q(17), gt_off = q(18), grains_off = q(24);
  if (capacity == 0 || capacity > kMaxCapacitySectors)
    return bad("invalid seSparse capacity " + std::to_string(capacity) + " sectors");

  std::unique_ptr<SeSparseExtent> e(new SeSparseExtent(std::move(file), length ? length : capacity * kSector));
  e->m_fsize = DK_TRY(e->m_file->size());
  auto within = [&](uint64_t sector, uint64_t bytes) {
    auto off = checked_mul(sector, kSector);
    return off && range_within(*off, bytes, e->m_fsize);
  };
  if (!within(vol_off, kHeaderSize)) return bad("seSparse volatile header offset " + hex(vol_off * kSector) +
                                                " is beyond the end of the file");
  std::array<std::byte, kHeaderSize> v{};
  DK_TRY(e->m_file->pread_exact(vol_off * kSector, v));
  if (load_le64(v.data()) != kVolatileMagic) return bad("bad seSparse volatile header magic");
  if (load_le64(v.data() + 24) != 0) return bad("image is dirty; replaying the seSparse journal is not supported");
  if (!all_zero(std::span(v).subspan(32))) return bad("non-zero seSparse volatile header padding");

  const uint64_t entries = gd_size > kMaxSeGdEntries * 8 / kSector ? kMaxSeGdEntries + 1 : gd_size * kSector / 8;
  if (entries > kMaxSeGdEntries) return make_error(EFBIG, f + ": seSparse grain directory is too large");
  if (!within(gd_off, entries * 8))
    return bad("seSparse grain directory offset " + hex(gd_off * kSector) + " is beyond the end of the file");
  if (!checked_mul(gt_off, kSector) || !checked_mul(grains_off, kSector))
    return bad("invalid seSparse grain table or grain offset");
  std::vector<std::byte> raw(entries * 8);
  DK_TRY(e->m_file->pread_exact(gd_off * kSector, raw));
  e->m_gd.resize(entries);
  for (uint64_t i = 0; i < entries; ++i) e->m_gd[i] = load_le64(raw.data() + i * 8);
  e->m_tables_sector = gt_off;
  e->m_grains_sector = grains_off;
  return e;
}

Result<const std::vector<uint64_t>*> SeSparseExtent::table(uint64_t ti) {
  if (auto it = m_gts.find(ti); it != m_gts.end()) return &it->second;
  if (ti >= m_gd.size())
    return make_error(EINVAL, "'" + path() + "': grain table " + std::to_string(ti) +
                                  " is beyond the seSparse grain directory");
  const uint64_t d = m_gd[ti];
  if (d == 0) return nullptr;
  if ((d & 0xffffffff00000000ull) != 0x1000000000000000ull)
    return make_error(EINVAL, "'" + path() + "': invalid seSparse grain directory entry " + hex(d) + " at index " +
                                  std::to_string(ti));
  const uint64_t bytes = kGtEntries * 8;
  // Sector counts stay far below overflow: both factors are < 2^55.
  const uint64_t off = (m_tables_sector + (d & 0xffffffffu) * (bytes / kSector)) * kSector;
  if (!range_within(off, bytes, m_fsize))
    return make_error(EINVAL, "'" + path() + "': grain table " + std::to_string(ti) + " at offset " + hex(off) +
                                  " is beyond the end of the file");
  std::vector<std::byte> raw(bytes);
  DK_TRY(m_file->pread_exact(off, raw));
  // Bounded cache (32 KiB per table): start over past 64 MiB.
  if (m_gts.size() >= 2048) m_gts.clear();
  std::vector<uint64_t>& t = m_gts[ti];
  t.resize(kGtEntries);
  for (uint64_t i = 0; i < kGtEntries; ++i) t[i] = load_le64(raw.data() + i * 8);
  return &t;
}

Result<int> SeSparseExtent::lookup(uint64_t g, uint64_t* host) {
  const std::vector<uint64_t>* t = DK_TRY(table(g / kGtEntries));
  if (!t) return 0;
  const uint64_t v = (*t)[g % kGtEntries];
  auto bad = [&](const char* what) {
    return make_error(EINVAL, "'" + path() + "': " + what + " seSparse grain table entry " + hex(v) +
                                  " for grain " + std::to_string(g));
  };
  switch (v >> 60) {
    case 0:
      if (v != 0) return bad("invalid");
      return 0;
    case 1:  // unmapped
    case 2:  // zero
      return 1;
    case 3: {
      const uint64_t index = ((v >> 48) & 0xfff) | ((v & 0xffffffffffffull) << 12);
      auto sector = checked_add(m_grains_sector, index * 8);  // index < 2^60: index*8 fits
      auto off = sector ? checked_mul(*sector, kSector) : std::nullopt;
      if (!off || !range_within(*off, kGrain, align_up(m_fsize, kSector))) return bad("out-of-file");
      *host = *off;
      return 2;
    }
    default:
      return bad("unknown");
  }
}

Result<void> SeSparseExtent::read(uint64_t rel, std::span<std::byte> out, const BelowFn& below) {
  while (!out.empty()) {
    const uint64_t g = rel / kGrain, in = rel % kGrain;
    const size_t n = std::min<uint64_t>(out.size(), kGrain - in);
    uint64_t host = 0;
    const int kind = DK_TRY(lookup(g, &host));
    if (kind == 0) {
      DK_TRY(below(rel, out.first(n)));
    } else if (kind == 1) {
      std::memset(out.data(), 0, n);
    } else {
      DK_TRY(m_file->pread_fill(host + in, out.first(n)));
    }
    rel += n;
    out = out.subspan(n);
  }
  return {};
}

Result<Extent> SeSparseExtent::block_status(uint64_t rel, uint64_t len) {
  auto status = [&](uint64_t g, Extent& s) -> Result<void> {
    uint64_t host = 0;
    const int kind = DK_TRY(lookup(g, &host));
    s.flags = kind == 0 ? 0 : kind == 1 ? kStatusZero : kStatusData | kStatusOffsetValid;
    s.offset = host;
    return {};
  };
  Extent x;
  x.file = path();
  uint64_t g = rel / kGrain;
  DK_TRY(status(g, x));
  x.offset += rel % kGrain;
  x.length = std::min<uint64_t>(len, kGrain - rel % kGrain);
  // Merge following grains with the same status (and contiguous data).
  while (x.length < len && x.length < (256u << 20)) {
    Extent y;
    DK_TRY(status(++g, y));
    if (y.flags != x.flags) break;
    if ((y.flags & kStatusOffsetValid) && y.offset != x.offset + x.length) break;
    x.length = std::min<uint64_t>(len, x.length + kGrain);
  }
  if (!(x.flags & kStatusOffsetValid)) x.offset = 0;
  return x;
}

}  // namespace dk::fmt::vmdk
