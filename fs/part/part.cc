// Which partition table a disk has: a GPT when the MBR is protective (type
// 0xEE) or absent and a GPT header is valid, else the MBR.
#include <algorithm>
#include <array>
#include <cstring>

#include "fs/part/part_internal.h"

namespace dk::fs {

std::string PartitionTable::type_name() const {
  switch (kind) {
    case TableKind::Mbr: return "msdos";
    case TableKind::Gpt: return "gpt";
    default: return "";
  }
}

namespace {

// "EFI PART" at byte `off` of the disk.
Result<bool> gpt_signature_at(fmt::Layer& disk, uint64_t off) {
  if (off > disk.size() || disk.size() - off < 8) return false;
  std::array<uint8_t, 8> sig;
  DK_TRY(disk.read(off, std::as_writable_bytes(std::span(sig))));
  return std::memcmp(sig.data(), "EFI PART", 8) == 0;
}

// Linux reads an image with 512-byte sectors; a GPT written for 4096-byte
// sectors (sfdisk --sector-size 4096, 4Kn disks) has its headers at byte
// 4096 and in the last 4 KiB instead, where a 512-byte GPT cannot have one.
Result<uint64_t> detect_sector_size(fmt::Layer& disk) {
  if (DK_TRY(gpt_signature_at(disk, kSectorSize))) return kSectorSize;
  if (DK_TRY(gpt_signature_at(disk, kLargeSectorSize))) return kLargeSectorSize;
  if (disk.size() >= 2 * kLargeSectorSize && disk.size() % kLargeSectorSize == 0 &&
      !DK_TRY(gpt_signature_at(disk, disk.size() - kSectorSize)) &&
      DK_TRY(gpt_signature_at(disk, disk.size() - kLargeSectorSize)))
    return kLargeSectorSize;
  return kSectorSize;
}

}  // namespace

Result<PartitionTable> read_partition_table(fmt::Layer& disk, uint64_t sector_size) {
  PartitionTable t;
  if (disk.size() < kSectorSize) return t;
  if (sector_size != 0 && sector_size != kSectorSize && sector_size != kLargeSectorSize)
    return make_error(EINVAL, "sector size " + std::to_string(sector_size) + " is not 512 or 4096");
  const uint64_t ss = sector_size ? sector_size : DK_TRY(detect_sector_size(disk));
  t.sector_size = ss;
  std::array<uint8_t, kSectorSize> s0;
  DK_TRY(disk.read(0, std::as_writable_bytes(std::span(s0))));
  bool protective = false;
  if (s0[510] == 0x55 && s0[511] == 0xaa)
    for (int i = 0; i < 4; ++i)
      if (s0[446 + 16 * i + 4] == 0xee) protective = true;
  if (protective) {
    if (DK_TRY(read_gpt(disk, t, ss))) return t;
    t.warnings.push_back("'" + disk.filename() +
                         "': protective MBR but no valid GPT (primary and backup damaged)");
    t.kind = TableKind::None;
    return t;
  }
  PartitionTable m;
  if (DK_TRY(read_mbr(disk, s0.data(), m, ss))) {
    std::stable_sort(m.partitions.begin(), m.partitions.end(),
                     [](const Partition& a, const Partition& b) { return a.number < b.number; });
    // An MBR with no partition at all and a valid GPT behind it (hybrid
    // tools sometimes leave one): prefer the GPT.
    if (!m.partitions.empty()) return m;
  }
  PartitionTable g;
  if (DK_TRY(read_gpt(disk, g, ss))) return g;
  if (m.kind == TableKind::Mbr) return m;
  return t;
}

}  // namespace dk::fs
