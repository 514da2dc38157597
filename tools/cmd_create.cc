// TEMPORARY placeholder.
#include "tools/command.h"
namespace dk::tools {
Command add_create(CLI::App& parent) {
  Command c;
  c.app = parent.add_subcommand("create", "create");
  c.run = []() -> Result<int> { return make_error(ENOTSUP, "todo"); };
  return c;
}
}
