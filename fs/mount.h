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
// can_open(), or a file system (not swap, not a container such as an LVM
// PV) that the registered fallback mounter may read.
bool can_mount(const std::string& type);

// ---- A mounter outside fs/ (additive hook) ----
// The appliance (tools/fish/cmd_appliance.cc, over appliance/host/remote_fs)
// registers a mounter for what no native driver reads (xfs, btrfs, ntfs,
// exfat...; while the appliance owns the images, everything).
// open_filesystem() asks it first for every probed file system, and
// GuestMounts::mount() asks it for a device the guest's disks do not name
// (/dev/VG/LV, /dev/mapper/NAME). `probed` is the probe's type, empty for
// such devices. The mounter returns ENOTSUP to decline: the native drivers
// then answer (or the caller reports its own error). Not thread-safe: set
// it before mounting, from the thread that mounts.
using FallbackMounter = std::function<Result<std::unique_ptr<FileSystem>>(
    Guest& guest, const std::string& device, const std::string& probed, const MountOptions& opts)>;
// Registers `m` (an empty function removes it); returns the previous one.
FallbackMounter set_fallback_mounter(FallbackMounter m);
// The registered mounter (empty when none).
const FallbackMounter& fallback_mounter();

// Devices only the fallback mounter reaches (the appliance's LVs), with
// their probe results, for inspection and listings. The appliance registers
// a lister next to its mounter; it is asked only for guests whose disks hold
// an LVM physical volume (see extra_devices()).
struct ExtraDevice {
  std::string name;  // "/dev/VG/LV"
  ProbeResult probe;
  uint64_t size = 0;
};
using ExtraDeviceLister = std::function<Result<std::vector<ExtraDevice>>(Guest& guest)>;
// Registers `l` (an empty function removes it); returns the previous one.
ExtraDeviceLister set_extra_device_lister(ExtraDeviceLister l);
// Whether a file-system candidate of `guest` is an LVM physical volume.
bool has_lvm_member(Guest& guest);
// The extra devices of `guest`: none when no lister is registered or
// `has_lvm_member` (what the caller's own probe of the candidates found)
// is false, so plain guests never start the appliance; the lister's error
// otherwise.
Result<std::vector<ExtraDevice>> extra_devices(Guest& guest, bool has_lvm_member);

}  // namespace dk::fs

namespace dk::fs {

// The file systems a tool or the shell has mounted on one guest, seen as
// one tree (guestfish's mount / mounts / umount-all).
class GuestMounts {
 public:
  explicit GuestMounts(Guest& guest) : m_guest(guest) {}

  struct Entry {
    std::string device;      // "/dev/sda1"
    std::string mountpoint;  // "/", "/boot"
    std::unique_ptr<FileSystem> fs;
  };

  Guest& guest() { return m_guest; }
  // Opens `device` and mounts it at `mountpoint`. Any mountpoint other than
  // "/" must be an existing directory in what is already mounted (as
  // guestfish requires). writable: opens the file system read-write.
  Result<void> mount(std::string_view device, std::string_view mountpoint, const MountOptions& opts);
  // libguestfs' -i: inspects the guest (fs/inspect) and mounts its one
  // operating system's root at / and then what its /etc/fstab names (UUID=,
  // LABEL=, PARTUUID=, /dev/ names), shortest mountpoint first. ENOENT "no
  // operating system was found" when there is none.
  Result<void> mount_inspected(const MountOptions& opts);
  // Flushes every writable file system; first error wins.
  Result<void> flush_all();

  const std::vector<Entry>& entries() const { return m_entries; }
  const Mounts& tree() const { return m_tree; }

 private:
  Guest& m_guest;
  std::vector<Entry> m_entries;
  Mounts m_tree;
};

// True when fs looks like a Linux root by libguestfs' rule: /etc is a
// directory and /bin a directory or a symlink (usr-merge), plus /etc/fstab
// or /etc/hosts.
bool is_linux_root(FileSystem& fs);

}  // namespace dk::fs
