// MBR partition tables with extended/logical partitions (Linux's msdos.c
// rules: logical partitions are numbered from 5 in chain order; a partition
// past the end of the disk is dropped, one reaching past it is clipped).
#include <array>
#include <cstdio>
#include <set>

#include "formats/core/checked_math.h"
#include "formats/core/endian.h"
#include "fs/part/part.h"
#include "fs/part/part_internal.h"

namespace dk::fs {
namespace {

struct MbrEntry {
  uint8_t status;
  uint8_t type;
  uint32_t lba;
  uint32_t sectors;
};

MbrEntry entry_at(const uint8_t* sector, int i) {
  const uint8_t* e = sector + 446 + 16 * i;
  return {e[0], e[4], load_le32(e + 8), load_le32(e + 12)};
}

bool is_extended(uint8_t type) { return type == 0x05 || type == 0x0f || type == 0x85; }

std::string mbr_part_uuid(uint32_t id, int number) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%08x-%02x", id, number);
  return buf;
}

// Adds a partition at [lba, lba+sectors) if it starts inside the disk; false when dropped.
bool add_partition(PartitionTable& t, uint64_t disk_size, int number, uint64_t lba,
                   uint64_t sectors, const MbrEntry& e, const std::string& disk_name) {
  const uint64_t ss = t.sector_size;
  uint64_t off = lba * ss;  // lba < 2^33 and ss <= 4096: cannot overflow
  if (sectors == 0) return false;
  if (off >= disk_size) {
    t.warnings.push_back("'" + disk_name + "': partition " + std::to_string(number) +
                         " starts beyond the end of the disk; ignored");
    return false;
  }
  uint64_t size = sectors * ss;
  if (size > disk_size - off) {
    t.warnings.push_back("'" + disk_name + "': partition " + std::to_string(number) +
                         " extends beyond the end of the disk; truncated");
    size = disk_size - off;
  }
  Partition p;
  p.number = number;
  p.offset = off;
  p.size = size;
  p.mbr_type = e.type;
  p.bootable = e.status == 0x80;
  p.part_uuid = mbr_part_uuid(t.mbr_id, number);
  t.partitions.push_back(std::move(p));
  return true;
}

// Follows the EBR chain of the extended partition starting at ext_lba.
Result<void> read_logicals(fmt::Layer& disk, PartitionTable& t, uint64_t ext_lba, uint64_t ext_sectors) {
  const uint64_t disk_size = disk.size();
  std::set<uint64_t> seen;
  uint64_t ebr = ext_lba;
  int number = 5;
  const uint64_t ss = t.sector_size;
  // Only the first 512 bytes of an EBR sector hold the table.
  std::array<uint8_t, 512> sec;
  for (int step = 0; step < kMaxLogical; ++step) {
    if (!seen.insert(ebr).second) {
      t.warnings.push_back("'" + disk.filename() + "': loop in the extended partition chain; stopped");
      return {};
    }
    if (ebr * ss + ss > disk_size) return {};
    DK_TRY(disk.read(ebr * ss, std::as_writable_bytes(std::span(sec))));
    if (sec[510] != 0x55 || sec[511] != 0xaa) return {};
    MbrEntry data = entry_at(sec.data(), 0);
    MbrEntry link = entry_at(sec.data(), 1);
    // Linux numbers a logical partition only when its EBR has a data entry.
    if (data.type != 0 && data.sectors != 0) {
      add_partition(t, disk_size, number, ebr + data.lba, data.sectors, data, disk.filename());
      t.partitions.back().logical = true;
      ++number;
    }
    if (!is_extended(link.type) || link.lba == 0) return {};
    if (link.lba >= ext_sectors) return {};  // next EBR outside the container
    ebr = ext_lba + link.lba;
  }
  t.warnings.push_back("'" + disk.filename() + "': more than " + std::to_string(kMaxLogical) +
                       " logical partitions; the rest are ignored");
  return {};
}

}  // namespace

Result<bool> read_mbr(fmt::Layer& disk, const uint8_t* sector0, PartitionTable& t, uint64_t ss) {
  if (sector0[510] != 0x55 || sector0[511] != 0xaa) return false;
  // A FAT/NTFS boot sector also ends in 55 aa: require sane status bytes.
  for (int i = 0; i < 4; ++i) {
    uint8_t st = entry_at(sector0, i).status;
    if (st != 0 && st != 0x80) return false;
  }
  t.kind = TableKind::Mbr;
  t.sector_size = ss;
  t.mbr_id = load_le32(sector0 + 440);
  int extended_seen = 0;
  for (int i = 0; i < 4; ++i) {
    MbrEntry e = entry_at(sector0, i);
    if (e.type == 0) continue;
    if (!add_partition(t, disk.size(), i + 1, e.lba, e.sectors, e, disk.filename())) continue;
    if (is_extended(e.type)) {
      t.partitions.back().extended = true;
      // Linux follows only the first extended partition.
      if (extended_seen++ == 0) DK_TRY(read_logicals(disk, t, e.lba, e.sectors));
    }
  }
  return true;
}

}  // namespace dk::fs
