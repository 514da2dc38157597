// The boot sector's BIOS parameter block: FAT type and the geometry every
// other part of the driver computes offsets from.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "formats/core/error.h"

namespace dk::fs::fat {

enum class FatType : uint8_t { Fat12, Fat16, Fat32 };

inline constexpr uint32_t kFirstCluster = 2;

struct Geometry {
  FatType type = FatType::Fat16;
  uint32_t bytes_per_sector = 512;
  uint32_t cluster_size = 0;      // bytes
  uint32_t num_fats = 0;
  uint64_t fat_offset = 0;        // byte offset of the first FAT copy
  uint64_t fat_bytes = 0;         // size of one FAT copy
  uint32_t root_entries = 0;      // FAT12/16: entries of the fixed root region
  uint64_t root_offset = 0;       // FAT12/16: byte offset of the root region
  uint32_t root_cluster = 0;      // FAT32: first cluster of the root directory
  uint64_t data_offset = 0;       // byte offset of cluster 2
  uint32_t cluster_count = 0;     // data clusters: valid numbers are 2 .. cluster_count + 1
  uint64_t total_bytes = 0;       // total sectors * sector size
  uint32_t fsinfo_sector = 0;     // FAT32: FSInfo sector (0: none)
  int active_fat = -1;            // FAT32 with mirroring off: the only FAT in use; else -1
  bool has_serial = false;
  uint32_t serial = 0;

  bool fat32() const { return type == FatType::Fat32; }
  // True for a cluster number that names a data cluster.
  bool valid_cluster(uint64_t c) const { return c >= kFirstCluster && c < uint64_t{cluster_count} + kFirstCluster; }
  uint64_t cluster_offset(uint32_t c) const { return data_offset + uint64_t{c - kFirstCluster} * cluster_size; }
  // Entry values at or above this end a chain (bad-cluster marks included, as Linux reads them).
  uint32_t end_of_chain() const { return type == FatType::Fat12 ? 0xff7 : type == FatType::Fat16 ? 0xfff7 : 0x0ffffff7; }
  uint32_t eoc_mark() const { return type == FatType::Fat12 ? 0xfff : type == FatType::Fat16 ? 0xffff : 0x0fffffff; }
  // Bytes of the FAT that hold entries for clusters 0 .. cluster_count + 1.
  uint64_t fat_used_bytes() const;
};

// Parses the boot sector (at least 512 bytes) of a device of `device_size`
// bytes. Errors name `name` and the bad field: absurd sizes, a FAT too small
// for the cluster count, metadata beyond the device.
Result<Geometry> parse_boot_sector(std::span<const uint8_t> sector, uint64_t device_size, const std::string& name);

}  // namespace dk::fs::fat
