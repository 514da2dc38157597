// diskit umount: guestunmount — unmount a diskit mount and wait until the
// images are flushed and closed.
#include <string>

#include "fuse/serve.h"
#include "tools/command.h"

namespace dk::tools {

Command add_umount(CLI::App& parent) {
  auto mountpoint = std::make_shared<std::string>();
  Command c;
  c.app = parent.add_subcommand("umount", "Unmount a diskit mount and wait until the images are closed");
  c.app->alias("unmount");
  c.app->add_option("mountpoint", *mountpoint, "Where the guest is mounted")->required();
  c.run = [mountpoint]() -> Result<int> { return fusefs::unmount_and_wait(*mountpoint); };
  return c;
}

}  // namespace dk::tools
