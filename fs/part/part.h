// Partition tables: MBR (with extended/logical partitions, numbered from 5
// as Linux does) and GPT (CRC-checked, with fallback to the backup GPT).
// The disk is hostile: every offset is bounds-checked, EBR chains are
// followed at most kMaxLogical steps and never twice through one sector,
// GPT entry arrays are capped.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "formats/core/error.h"
#include "formats/layer.h"

namespace dk::fs {

inline constexpr uint64_t kSectorSize = 512;      // logical sector of an image (Linux default)
inline constexpr uint64_t kLargeSectorSize = 4096; // 4Kn disks: GPT found at byte 4096
inline constexpr int kMaxLogical = 256;              // logical partitions followed
inline constexpr uint32_t kMaxGptEntries = 65536;    // entries in a GPT array
inline constexpr uint64_t kMaxGptArrayBytes = 4u << 20;

enum class TableKind : uint8_t { None, Mbr, Gpt };

struct Partition {
  int number = 0;        // Linux's: MBR 1-4 primary, 5+ logical; GPT entry index + 1
  uint64_t offset = 0;   // bytes from the start of the disk
  uint64_t size = 0;     // bytes (clipped to the disk's end, as Linux does)
  // MBR
  uint8_t mbr_type = 0;  // partition type byte (0x83, 0x05, ...)
  bool bootable = false;
  bool extended = false;  // the extended container (Linux shows it as a 1 KiB device)
  bool logical = false;
  // GPT (GUIDs uppercase, as libguestfs prints them)
  std::string type_guid;
  std::string part_guid;
  std::string name;       // UTF-8
  uint64_t attributes = 0;
  // PARTUUID as blkid reports it: GPT part_guid lowercase; MBR "xxxxxxxx-NN".
  std::string part_uuid;
};

struct PartitionTable {
  TableKind kind = TableKind::None;
  uint32_t mbr_id = 0;        // MBR disk signature
  std::string disk_guid;      // GPT
  uint64_t sector_size = kSectorSize;  // the logical sector the table is in units of
  std::vector<Partition> partitions;  // by number
  // One-line notes for the user ("primary GPT header is damaged; using the
  // backup GPT"); the caller prints them once.
  std::vector<std::string> warnings;

  // libguestfs' part-get-parttype: "msdos", "gpt" or "" when none.
  std::string type_name() const;
};

// Reads the partition table of `disk`. A disk without a recognisable table
// gives kind None (not an error); EIO-class errors from the disk propagate.
// sector_size 0 decides as Linux does for an image file: 512-byte sectors,
// except a GPT found only with 4096-byte sectors (its header at byte 4096
// or its backup in the last 4 KiB); 512 or 4096 forces that size.
Result<PartitionTable> read_partition_table(fmt::Layer& disk, uint64_t sector_size = 0);

// A 16-byte on-disk GUID (mixed endian) as "XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX".
std::string guid_to_string(const uint8_t* g);

}  // namespace dk::fs
