// What inspect-os found, kept by the Shell for the inspect-get-* commands.
#pragma once

#include <string>
#include <vector>

#include "fs/inspect/inspect.h"
#include "tools/fish/shell.h"

namespace dk::tools::fish {

struct Shell::InspectState {
  std::vector<fs::OsInfo> oses;  // inspect-os / inspect-get-roots, in device order
};

}  // namespace dk::tools::fish
