// Options shared by the guest file-system tools (libguestfs' virt-* style):
// -a IMAGE (repeatable), --format FMT (applies to the -a options after it,
// "auto" goes back to probing), -m DEV[:MOUNTPOINT] (repeatable).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "formats/core/error.h"
#include "fs/disk.h"
#include "fs/mount.h"

namespace dk::tools {

struct GuestOptions {
  std::vector<std::string> images;
  std::vector<std::string> formats;
  std::vector<std::string> mounts;
  CLI::Option* image_opt = nullptr;
  CLI::Option* format_opt = nullptr;
};

// Declares -a/--add, --format and (with_mounts) -m/--mount on app.
void add_guest_options(CLI::App& app, GuestOptions& o, bool with_mounts);

// The disks in -a order with the --format in force for each.
Result<std::vector<fs::DiskSpec>> disk_specs(const CLI::App& app, const GuestOptions& o);

// Opens the guest's disks (read-only unless writable).
Result<std::unique_ptr<fs::Guest>> open_guest(const CLI::App& app, const GuestOptions& o, bool writable);

// Mounts what -m names, in order; without -m, the guest's Linux root and
// what its fstab names (GuestMounts::mount_inspected).
Result<void> mount_guest(fs::GuestMounts& mounts, const GuestOptions& o, bool writable);

// A guest opened and mounted for one tool run (the mounts refer to the guest,
// so both live together).
struct MountedGuest {
  std::unique_ptr<fs::Guest> guest;
  std::unique_ptr<fs::GuestMounts> mounts;
};

// open_guest + mount_guest. writable: the images are opened read-write with
// their lock taken (an image in use by another process is refused) and the
// file systems mounted read-write.
Result<MountedGuest> open_mounted(const CLI::App& app, const GuestOptions& o, bool writable);

// The name virt-df shows for the guest of -a options: the basename of the
// last -a image.
std::string display_name(const GuestOptions& o);

}  // namespace dk::tools
