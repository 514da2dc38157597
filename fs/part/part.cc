// Which partition table a disk has: a GPT when the MBR is protective (type
// 0xEE) or absent and a GPT header is valid, else the MBR.
#include <algorithm>
#include <array>

#include "fs/part/part_internal.h"

namespace dk::fs {

std::string PartitionTable::type_name() const {
  switch (kind) {
    case TableKind::Mbr: return "msdos";
    case TableKind::Gpt: return "gpt";
    default: return "";
  }
}

Result<PartitionTable> read_partition_table(fmt::Layer& disk) {
  PartitionTable t;
  if (disk.size() < kSectorSize) return t;
  std::array<uint8_t, kSectorSize> s0;
  DK_TRY(disk.read(0, std::as_writable_bytes(std::span(s0))));
  bool protective = false;
  if (s0[510] == 0x55 && s0[511] == 0xaa)
    for (int i = 0; i < 4; ++i)
      if (s0[446 + 16 * i + 4] == 0xee) protective = true;
  if (protective) {
    if (DK_TRY(read_gpt(disk, t))) return t;
    t.warnings.push_back("'" + disk.filename() +
                         "': protective MBR but no valid GPT (primary and backup damaged)");
    t.kind = TableKind::None;
    return t;
  }
  PartitionTable m;
  if (DK_TRY(read_mbr(disk, s0.data(), m))) {
    std::stable_sort(m.partitions.begin(), m.partitions.end(),
                     [](const Partition& a, const Partition& b) { return a.number < b.number; });
    // An MBR with no partition at all and a valid GPT behind it (hybrid
    // tools sometimes leave one): prefer the GPT.
    if (!m.partitions.empty()) return m;
  }
  PartitionTable g;
  if (DK_TRY(read_gpt(disk, g))) return g;
  if (m.kind == TableKind::Mbr) return m;
  return t;
}

}  // namespace dk::fs
