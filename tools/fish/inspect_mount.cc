#include "tools/fish/inspect_mount.h"

namespace dk::tools::fish {

Result<std::string> inspect_and_mount(Shell& sh) {
  DK_TRY(sh.mount_inspected());
  std::string out;
  for (const auto& r : sh.mount_records()) out += r.device + " mounted on " + r.mountpoint + "\n";
  return out;
}

}  // namespace dk::tools::fish
