// Opening the file system on a guest device: probe, then the matching
// driver (ext2/3/4 now; FAT and ISO 9660 join here).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "fs/disk.h"
#include "fs/probe.h"
#include "fs/vfs.h"

namespace dk::fs {

struct MountOptions {
  bool writable = false;
  std::function<void(const std::string&)> warn;  // stderr when empty
};

// Opens the file system on `dev`. Errors name the device and what was found:
// "'/dev/sda1': xfs file systems can be detected but not read",
// "'/dev/sda2': no file system found".
Result<std::unique_ptr<FileSystem>> open_filesystem(Guest& guest, const BlockDevice& dev,
                                                    const MountOptions& opts);

// Whether open_filesystem() can open a file system of this probed type.
bool can_open(const std::string& type);

}  // namespace dk::fs
