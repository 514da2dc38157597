// TEMPORARY placeholder.
#include "tools/command.h"
namespace dk::tools {
Command add_map(CLI::App& parent) {
  Command c;
  c.app = parent.add_subcommand("map", "map");
  c.run = []() -> Result<int> { return make_error(ENOTSUP, "todo"); };
  return c;
}
}
