// A guest's disks: every -a IMAGE (any format, any backing chain) is one
// disk, named /dev/sda, /dev/sdb, ... in order; its partitions are
// /dev/sda1, ... (Linux's numbering, as libguestfs shows them).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "formats/core/error.h"
#include "formats/layer.h"
#include "fs/part/part.h"

namespace dk::fs {

struct DiskSpec {
  std::string path;
  std::string format;  // empty: probed
};

// A whole disk or one partition of it.
struct BlockDevice {
  std::string name;        // "/dev/sda", "/dev/sda1"
  size_t disk = 0;         // index into Guest's disks
  int partnum = 0;         // 0: the whole disk
  uint64_t offset = 0;     // bytes into the disk
  uint64_t size = 0;       // bytes (1 KiB for an MBR extended partition, like Linux)
  const Partition* part = nullptr;  // the table entry, for partitions
};

// "/dev/sd" + Linux's letters: a..z, aa..zz, aaa...
std::string disk_name(size_t index);

class Guest {
 public:
  // Opens every image with its backing chain. Read-only opens share the
  // image (-U) and never write; writable opens take the image lock.
  // Warnings (a damaged primary GPT) go to warn once each; stderr
  // ("diskit: warning: ...") when warn is empty.
  static Result<std::unique_ptr<Guest>> open(const std::vector<DiskSpec>& disks, bool writable,
                                             std::function<void(const std::string&)> warn = {});
  // For tests and fuzzing: a guest made of already-open layers.
  static Result<std::unique_ptr<Guest>> from_layers(std::vector<std::unique_ptr<fmt::Layer>> layers,
                                                    std::function<void(const std::string&)> warn = {});

  bool writable() const { return m_writable; }
  size_t disk_count() const { return m_disks.size(); }
  fmt::Layer& disk(size_t i) { return *m_disks[i].layer; }
  const PartitionTable& table(size_t i) const { return m_disks[i].table; }

  // libguestfs' list-devices: the whole disks.
  std::vector<BlockDevice> devices() const;
  // libguestfs' list-partitions: every partition of every disk, in order.
  std::vector<BlockDevice> partitions() const;
  // Devices that may hold a file system: partitions, plus whole disks that
  // have no partitions (list-filesystems' candidates).
  std::vector<BlockDevice> filesystem_candidates() const;
  // Looks a device up by name; /dev/vdX and /dev/hdX are accepted for
  // /dev/sdX. ENOENT naming the device when there is none.
  Result<BlockDevice> find(std::string_view name) const;
  // The device's bytes as a layer (an offset view into the disk; writable
  // when the guest is).
  Result<std::unique_ptr<fmt::Layer>> open_device(const BlockDevice& dev);

 private:
  struct Disk {
    std::unique_ptr<fmt::Layer> layer;
    PartitionTable table;
    // A hybrid ISO (isohybrid, grub-mkrescue): an ISO 9660 file system at
    // the start of a disk that also has a partition table. The whole disk
    // is then a file-system candidate too, as blkid and lsblk show it.
    bool hybrid_iso = false;
  };
  Result<void> add_disk(std::unique_ptr<fmt::Layer> layer, const std::function<void(const std::string&)>& warn);

  std::vector<Disk> m_disks;
  bool m_writable = false;
};

}  // namespace dk::fs
