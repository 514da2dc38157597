// TEMPORARY placeholder.
#include "tools/command.h"
namespace dk::tools {
Command add_convert(CLI::App& parent) {
  Command c;
  c.app = parent.add_subcommand("convert", "convert");
  c.run = []() -> Result<int> { return make_error(ENOTSUP, "todo"); };
  return c;
}
}
