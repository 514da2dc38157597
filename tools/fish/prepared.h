// guestfish's prepared disks: -N [FILENAME=]TYPE[:PARAM...] makes a new
// raw disk image (test1.img, test2.img... unless named) and adds it.
//
//   disk[:SIZE]                         a blank disk
//   part[:SIZE[:PARTTYPE]]              one partition covering the disk
//   fs[:FS[:SIZE[:PARTTYPE]]]           ... holding a file system (ext2)
//   lv[:NAME[:SIZE[:PARTTYPE]]]         ... holding an LVM LV (/dev/VG/LV)
//   lvfs[:NAME[:FS[:SIZE[:PARTTYPE]]]]  ... with a file system on the LV
//
// SIZE defaults to 100M and PARTTYPE to mbr, as in guestfish. The disk
// and the partition table are made on the host (parted on the file), so
// are ext2/3/4 and vfat file systems (mke2fs/mkfs.fat at the partition's
// offset); LVM and the other file systems are made in the appliance once
// the shell is launched.
#pragma once

#include <string>
#include <vector>

#include "formats/core/error.h"
#include "fs/disk.h"

namespace dk::tools::fish {

struct PreparedDisk {
  fs::DiskSpec disk;
  // Fish commands to run once launched (the device names are filled in).
  std::vector<std::vector<std::string>> post_launch;
};

// Makes the disk for one -N SPEC. `nth` counts the -N options from 1 (the
// default file name), `device` is the disk's name in the shell (/dev/sda).
Result<PreparedDisk> prepare_disk(const std::string& spec, size_t nth, const std::string& device);

// The text of -N help / -N list.
std::string prepared_disk_help();

}  // namespace dk::tools::fish
