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

}  // namespace dk::tools
