// Boot-sector parsing with Linux's fat_fill_super checks: FAT32 when the
// 16-bit FAT size is zero, else FAT12 up to 4084 clusters and FAT16 above.
#include "fs/fat/bpb.h"

#include "formats/core/checked_math.h"
#include "formats/core/endian.h"

namespace dk::fs::fat {
namespace {

constexpr uint32_t kMaxFat12 = 0xff4;       // clusters
constexpr uint32_t kMaxFat16 = 0xfff4;
constexpr uint32_t kMaxFat32 = 0x0ffffff6;

tl::unexpected<Error> bad(const std::string& name, const std::string& what) {
  return make_error(EINVAL, "'" + name + "': not a usable FAT file system: " + what);
}

}  // namespace

uint64_t Geometry::fat_used_bytes() const {
  uint64_t entries = uint64_t{cluster_count} + kFirstCluster;
  switch (type) {
    case FatType::Fat12: return (entries * 3 + 1) / 2;
    case FatType::Fat16: return entries * 2;
    case FatType::Fat32: return entries * 4;
  }
  return 0;
}

Result<Geometry> parse_boot_sector(std::span<const uint8_t> s, uint64_t device_size, const std::string& name) {
  if (s.size() < 512) return bad(name, "the device is smaller than a boot sector");
  Geometry g;
  uint32_t bps = load_le16(&s[11]);
  uint32_t spc = s[13];
  uint32_t reserved = load_le16(&s[14]);
  g.num_fats = s[16];
  g.root_entries = load_le16(&s[17]);
  uint64_t total = load_le16(&s[19]);
  if (total == 0) total = load_le32(&s[32]);
  uint64_t fat_sectors = load_le16(&s[22]);
  bool fat32 = fat_sectors == 0;
  if (fat32) fat_sectors = load_le32(&s[36]);
  if (bps < 512 || bps > 4096 || !is_pow2(bps)) return bad(name, "bytes per sector " + std::to_string(bps));
  if (spc == 0 || !is_pow2(spc)) return bad(name, "sectors per cluster " + std::to_string(spc));
  if (reserved == 0) return bad(name, "no reserved sectors");
  if (g.num_fats == 0) return bad(name, "no FAT copies");
  if (fat_sectors == 0) return bad(name, "FAT size is zero");
  if (total == 0) return bad(name, "total sector count is zero");
  g.bytes_per_sector = bps;
  g.cluster_size = bps * spc;
  g.fat_offset = uint64_t{reserved} * bps;
  g.fat_bytes = fat_sectors * bps;
  uint64_t root_bytes = fat32 ? 0 : uint64_t{g.root_entries} * 32;
  if (!fat32 && (g.root_entries == 0 || root_bytes % bps))
    return bad(name, "bogus number of root directory entries " + std::to_string(g.root_entries));
  g.root_offset = g.fat_offset + g.fat_bytes * g.num_fats;  // no overflow: 16+32+8 bit factors
  g.data_offset = g.root_offset + root_bytes;
  g.total_bytes = total * bps;
  if (g.data_offset >= g.total_bytes) return bad(name, "the metadata is larger than the file system");
  uint64_t clusters = (g.total_bytes - g.data_offset) / g.cluster_size;
  if (fat32) g.type = FatType::Fat32;
  else g.type = clusters > kMaxFat12 ? FatType::Fat16 : FatType::Fat12;
  uint64_t max = fat32 ? kMaxFat32 : g.type == FatType::Fat16 ? kMaxFat16 : kMaxFat12;
  if (clusters == 0) return bad(name, "no data clusters");
  if (clusters > max) return bad(name, "too many clusters (" + std::to_string(clusters) + ") for its FAT type");
  g.cluster_count = static_cast<uint32_t>(clusters);
  // The FAT must have an entry for every cluster (Linux: "count of clusters too big").
  if (g.fat_used_bytes() > g.fat_bytes)
    return bad(name, "the FAT (" + std::to_string(g.fat_bytes) + " bytes) is too small for " +
                         std::to_string(clusters) + " clusters");
  if (!range_within(g.fat_offset, g.fat_used_bytes(), device_size) ||
      !range_within(g.root_offset, root_bytes, device_size))
    return bad(name, "the FAT or root directory lies beyond the end of the device");
  size_t ext = 36;
  if (fat32) {
    g.root_cluster = load_le32(&s[44]);
    if (!g.valid_cluster(g.root_cluster))
      return bad(name, "root directory cluster " + std::to_string(g.root_cluster) + " is out of range");
    uint16_t flags = load_le16(&s[40]);
    if (flags & 0x80) {
      g.active_fat = flags & 0x0f;
      if (static_cast<uint32_t>(g.active_fat) >= g.num_fats) return bad(name, "active FAT is out of range");
    }
    uint32_t fsinfo = load_le16(&s[48]);
    if (fsinfo != 0 && fsinfo != 0xffff && fsinfo < reserved) g.fsinfo_sector = fsinfo;
    ext = 64;
  }
  if (s[ext + 2] == 0x29 || s[ext + 2] == 0x28) {
    g.has_serial = true;
    g.serial = load_le32(&s[ext + 3]);
  }
  return g;
}

}  // namespace dk::fs::fat
