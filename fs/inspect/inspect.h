// Operating-system inspection, libguestfs' rules (inspect-os and the
// inspect-get-* calls, virt-inspector): finds the roots of the operating
// systems on a guest's disks and reads what they say about themselves
// (distro, version, hostname, architecture, fstab, installed packages).
//
// Everything here is read-only: file systems are opened without write
// access, nothing is replayed onto the image, and every guest file read is
// size-capped (the guest is hostile; a huge or malformed os-release, fstab,
// dpkg status or rpm database gives "unknown" fields or an error, never a
// crash or unbounded memory).
//
// Not supported: Windows (NTFS cannot be read here: an NTFS file system is
// not reported as a root), BerkeleyDB/NDB rpm databases (only the sqlite
// rpmdb: list_applications() says so with ENOTSUP).
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "formats/core/error.h"
#include "fs/disk.h"
#include "fs/mount.h"
#include "fs/vfs.h"

namespace dk::fs {

// One installed package, as libguestfs' inspect-list-applications2 returns
// it (app2_*). Fields libguestfs fills only for other guests stay empty.
struct Application {
  std::string name;
  std::string display_name;
  int epoch = 0;
  std::string version;
  std::string release;
  std::string arch;
  std::string install_path;
  std::string trans_path;
  std::string publisher;
  std::string url;
  std::string source_package;
  std::string summary;
  std::string description;
  std::string spare1, spare2, spare3, spare4;
};

// A file system an operating system uses (virt-inspector's <filesystem>).
struct InspectedFilesystem {
  std::string device;  // "/dev/sda2"
  std::string type;    // vfs-type ("ext4"), empty when unknown
  std::string label;
  std::string uuid;
};

// One operating system root, with what inspect-get-* report for it.
// Strings that inspection could not determine are "unknown" (as libguestfs
// returns them); versions are 0.
struct OsInfo {
  std::string root;                // "/dev/sda1"
  std::string type = "unknown";    // "linux", "unknown"
  std::string distro = "unknown";  // "debian", "ubuntu", "fedora", "rhel", ...
  std::string product_name = "unknown";
  std::string product_variant = "unknown";
  int major_version = 0;
  int minor_version = 0;
  std::string arch = "unknown";       // "x86_64", "i386", "aarch64", ...
  std::string hostname = "unknown";
  std::string package_format = "unknown";      // "deb", "rpm", "pacman", "apk", ...
  std::string package_management = "unknown";  // "apt", "dnf", "yum", "zypper", ...
  std::string osinfo = "unknown";              // libosinfo short id ("debian12"), best effort
  // inspect-get-mountpoints: (mountpoint, device) for each fstab line whose
  // device resolved to one of ours, in fstab order; ("/", root) when the
  // guest has no usable fstab. Resolution maps UUID=, LABEL=, PARTUUID=,
  // PARTLABEL=, /dev/disk/by-*/... and /dev/[shv]dXN names to /dev/sdXN.
  std::vector<std::pair<std::string, std::string>> mountpoints;
  // inspect-get-filesystems: the root, then the other devices of
  // mountpoints (each once), with their probed type/label/uuid.
  std::vector<InspectedFilesystem> filesystems;
};

struct InspectOptions {
  // Warnings (e.g. a root whose fstab cannot be read); dropped when empty.
  std::function<void(const std::string&)> warn;
};

// inspect-os: every file system of the guest that diskit can open is
// opened read-only and checked for an OS root; returns one OsInfo per root,
// in device order (empty when none: not an error). I/O errors reading the
// disks propagate; a file system that cannot be opened is skipped.
Result<std::vector<OsInfo>> inspect_os(Guest& guest, const InspectOptions& opts = {});

// inspect-list-applications2 over an already-mounted tree (the guest's
// root at "/" and its fstab mountpoints, as libguestfs requires): dpkg
// (/var/lib/dpkg/status: only "install ok installed"), rpm (sqlite rpmdb
// /var/lib/rpm/rpmdb.sqlite or /usr/lib/sysimage/rpm/rpmdb.sqlite),
// pacman (/var/lib/pacman/local/*/desc) and apk (/lib/apk/db/installed),
// chosen by os.package_format. Sorted by name as libguestfs sorts them.
// ENOTSUP naming the file for a BerkeleyDB/NDB rpm database; an empty list
// for other guests.
Result<std::vector<Application>> list_applications(const Mounts& tree, const OsInfo& os);

// The same, mounting os.root and its mountpoints read-only itself.
Result<std::vector<Application>> list_applications(Guest& guest, const OsInfo& os);

// Mounts os.root at "/" and then each of os.mountpoints that diskit can
// open (shorter mountpoints first, so /boot precedes /boot/efi; a line
// that fails is skipped as libguestfs' -i does) into `mounts`.
Result<void> mount_os(GuestMounts& mounts, const OsInfo& os, const MountOptions& opts);

}  // namespace dk::fs
