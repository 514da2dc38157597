#pragma once

#include <vector>

#include "tools/command.h"

namespace dk::tools {

// Declares every subcommand on app.
std::vector<Command> add_all_commands(CLI::App& app);

}  // namespace dk::tools
