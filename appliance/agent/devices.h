// Device names: users see /dev/sda, /dev/sda1 ... in attach order (as in
// diskit's native mode and libguestfs); the guest kernel calls them
// /dev/vda, /dev/vda1 ..., in the order it probed them: a disk with
// virtio serial "dk<N>" (the host's hot-plugged disk N) is the user's
// disk N, any other keeps its letters. In host mode (--stdio --device sda=FILE) the
// names map to files instead, so ops can be tested without a VM.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "formats/core/error.h"

namespace dk::agent {

class DeviceMap {
 public:
  // Guest mode: /dev/sdX[N] <-> /dev/vdY[N], disks found in /sys/block
  // (rescanned on every call: disks may be hot-plugged).
  // (The paths are parameters for tests.)
  static DeviceMap guest(std::string sys_block = "/sys/block", std::string dev = "/dev");
  // Host mode: only the disks added with add().
  static DeviceMap host();
  // Adds "sda" -> path (host mode).
  void add(const std::string& user_disk, const std::string& path);

  // /dev/sda1 -> /dev/vda1 (also accepts /dev/vdX and /dev/hdX spellings);
  // ENOENT when it is not an attached disk or an existing partition of one.
  Result<std::string> to_guest(std::string_view user) const;
  // /dev/vda1 -> /dev/sda1; anything else comes back unchanged.
  std::string to_user(std::string_view guest) const;
  // User names of the attached disks, in order.
  std::vector<std::string> disks() const;
  // User names of their partitions, in order.
  std::vector<std::string> partitions() const;
  // True inside the appliance, false in host mode (--stdio --device).
  bool in_guest() const { return m_guest; }

 private:
  bool m_guest = false;
  std::map<std::string, std::string> m_host;  // "sda" -> path
  std::string m_sys_block, m_dev;             // guest mode
};

// Orders disk names as the kernel assigns them: sda < sdz < sdaa.
bool disk_name_less(const std::string& a, const std::string& b);

}  // namespace dk::agent
