// What inspect-os found, kept by the Shell for the inspect-get-* commands.
#pragma once

#include <string>
#include <vector>

#include "tools/fish/shell.h"

namespace dk::tools::fish {

struct Shell::InspectState {
  std::vector<std::string> roots;  // inspect-os / inspect-get-roots
};

}  // namespace dk::tools::fish
