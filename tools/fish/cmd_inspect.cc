// Inspection: inspect-os and inspect-get-* (filled in from fs/inspect).
#include "tools/fish/inspect_state.h"
#include "tools/fish/output.h"

namespace dk::tools::fish {

void add_inspect_commands(CommandTable& t) { (void)t; }

}  // namespace dk::tools::fish
