// -i: inspect the guest and mount its file systems as its fstab says.
#pragma once

#include <string>
#include <vector>

#include "fs/inspect/inspect.h"

#include "tools/fish/shell.h"

namespace dk::tools::fish {

// inspect-os: inspects the guest's disks and keeps the result for the
// inspect-get-* commands.
Result<std::vector<fs::OsInfo>> inspect(Shell& sh);

// Mounts the guest's root and fstab file systems; returns what interactive
// mode prints after the banner ("Operating system: ...", "/dev/sda1 mounted
// on /"). ENOENT when no operating system is found.
Result<std::string> inspect_and_mount(Shell& sh);

}  // namespace dk::tools::fish
