// File-system detection by superblock signature, without mounting: the
// type names, labels and UUIDs blkid (and libguestfs' vfs-type, vfs-label,
// vfs-uuid) report.
#pragma once

#include <cstdint>
#include <string>

#include "formats/core/error.h"
#include "formats/layer.h"

namespace dk::fs {

struct ProbeResult {
  // blkid TYPE: "ext2", "ext3", "ext4", "vfat", "iso9660", "xfs", "btrfs",
  // "ntfs", "exfat", "swap", "LVM2_member", "crypto_LUKS",
  // "linux_raid_member"; empty when nothing was recognised.
  std::string type;
  std::string label;
  std::string uuid;      // blkid's spelling (ext: lowercase dashed; vfat: "ABCD-1234")
  uint64_t size = 0;     // bytes the file system says it spans (0 when unknown)
  std::string version;   // e.g. "FAT32", "1.0" (informational)

  bool found() const { return !type.empty(); }
};

// Probes the first bytes of `dev` (a partition or whole disk). I/O errors
// propagate; an unrecognised device is a ProbeResult with an empty type.
Result<ProbeResult> probe_filesystem(fmt::Layer& dev);

}  // namespace dk::fs
