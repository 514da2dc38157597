// FAT12/16/32 with VFAT long file names, read and write, behind the shared
// FileSystem/Inode interface (our own code: the format is small).
//
// What it shows follows Linux's vfat with default mount options (uid 0,
// gid 0, umask 022, shortname=mixed, codepage 437, UTF-8 names, tz=UTC):
// files and directories are rwxr-xr-x, the read-only attribute clears a
// file's write bits, "." and ".." and the volume label are not listed.
//
// Writes are batched: file data goes to newly allocated clusters at once,
// while FAT and directory changes stay in memory until flush(), which
// writes them in crash-safe order (data, FAT copies, directory entries and
// FSInfo, each stage followed by a device flush). Clusters freed since the
// last flush are not reused before it, so a crash never lets new data
// overwrite what the on-disk file system still references.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "formats/layer.h"
#include "fs/vfs.h"

namespace dk::fs {

struct FatOpenOptions {
  bool writable = false;
  // One-line warnings; stderr when empty.
  std::function<void(const std::string&)> warn;
  // Name for messages ("/dev/sda1").
  std::string device_name;
};

// Opens the FAT file system on `dev` (the FileSystem owns it). EINVAL when
// the boot sector holds no usable FAT geometry, EROFS for a writable open of
// a read-only device.
Result<std::unique_ptr<FileSystem>> open_fat(std::unique_ptr<fmt::Layer> dev, const FatOpenOptions& opts);

}  // namespace dk::fs
