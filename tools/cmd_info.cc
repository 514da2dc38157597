// TEMPORARY placeholder.
#include "tools/command.h"
namespace dk::tools {
Command add_info(CLI::App& parent) {
  Command c;
  c.app = parent.add_subcommand("info", "info");
  c.run = []() -> Result<int> { return make_error(ENOTSUP, "todo"); };
  return c;
}
}
