// Mapping the devices an fstab names to the guest's /dev/sdXN names
// (libguestfs' check_fstab / resolve_fstab_device), from one probe of
// every file-system candidate.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "formats/core/error.h"
#include "fs/disk.h"
#include "fs/inspect/inspect.h"
#include "fs/inspect/parse.h"
#include "fs/probe.h"

namespace dk::fs::inspect {

class DeviceResolver {
 public:
  struct Candidate {
    BlockDevice dev;  // dev.part is not used (it points into the Guest)
    ProbeResult probe;
  };
  struct PartInfo {
    std::string name;        // "/dev/sda2"
    std::string part_uuid;   // blkid PARTUUID
    std::string part_label;  // GPT partition name
  };

  // Probes every file-system candidate of the guest once. I/O errors
  // propagate, naming the device.
  static Result<DeviceResolver> probe(Guest& guest);
  // For tests and fuzzing: a resolver over given devices.
  DeviceResolver(std::vector<std::string> disks, std::vector<PartInfo> parts, std::vector<Candidate> cands)
      : m_disks(std::move(disks)), m_parts(std::move(parts)), m_cands(std::move(cands)) {}

  const std::vector<Candidate>& candidates() const { return m_cands; }
  // Adds a device the host cannot open itself (an LV reached through the
  // appliance): fstab lines then resolve to it by UUID, label or name.
  void add_remote(const std::string& name, const ProbeResult& probe);
  bool is_remote(const std::string& name) const;

  // The (device, mountpoint) pairs of fstab lines libguestfs keeps: a
  // resolvable spec, a mountpoint outside /dev, /proc, /sys, /selinux and
  // /media, no floppy or CD-ROM. Mountpoints are canonical ("/usr/local");
  // swap lines keep their "none"/"swap" mountpoint (inspect-get-filesystems
  // lists them, inspect-get-mountpoints does not).
  std::vector<std::pair<std::string, std::string>> resolve_fstab(const std::vector<FstabEntry>& entries,
                                                                 const std::string& root_device) const;
  // One fstab spec: UUID=, LABEL=, PARTUUID=, PARTLABEL=, /dev/root,
  // /dev/disk/by-{uuid,label,partuuid,partlabel,id}/..., /dev/[hsv]dXN and
  // /dev/xvdXN. Other /dev/ names come back unchanged (libguestfs keeps
  // them); pseudo file systems (tmpfs, proc, none) give nullopt.
  std::optional<std::string> resolve_spec(std::string_view spec, const std::string& root_device) const;
  // The probed type, label and UUID of a device (empty when unknown).
  InspectedFilesystem describe(const std::string& device) const;

 private:
  std::optional<std::string> find_uuid(std::string_view uuid) const;
  std::optional<std::string> find_label(std::string_view label) const;
  std::optional<std::string> find_partition(std::string_view value, bool label) const;
  std::optional<std::string> resolve_dev(std::string_view spec) const;
  std::vector<std::string> m_remote;  // names of add_remote() devices
  bool is_partition(std::string_view name) const;

  std::vector<std::string> m_disks;
  std::vector<PartInfo> m_parts;
  std::vector<Candidate> m_cands;
};

}  // namespace dk::fs::inspect
