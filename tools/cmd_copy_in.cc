// diskit copy-in: virt-copy-in without a VM — local files and directories
// (recursively) into a guest directory. Opens the images read-write with
// their lock, and flushes every file system before it reports success.
#include <string>
#include <vector>

#include "fs/copy/copy.h"
#include "tools/command.h"
#include "tools/guest_args.h"

namespace dk::tools {
namespace {

struct CopyInOptions {
  GuestOptions guest;
  std::vector<std::string> args;  // LOCALPATH... GUESTDIR
};

Result<int> run_copy_in(const CLI::App& app, CopyInOptions& o) {
  if (o.args.size() < 2) return make_error(EINVAL, "expected LOCALPATH... GUESTDIR");
  std::vector<std::string> sources(o.args.begin(), o.args.end() - 1);
  const std::string& guest_dir = o.args.back();
  MountedGuest g = DK_TRY(open_mounted(app, o.guest, true));
  DK_TRY(fs::copy_in(g.mounts->tree(), sources, guest_dir));
  DK_TRY(g.mounts->flush_all());
  return 0;
}

}  // namespace

Command add_copy_in(CLI::App& parent) {
  auto o = std::make_shared<CopyInOptions>();
  Command c;
  c.app = parent.add_subcommand("copy-in", "Copy local files and directories into a guest");
  add_guest_options(*c.app, o->guest, true);
  c.app->add_option("paths", o->args, "LOCALPATH... GUESTDIR")->required()->expected(2, -1);
  c.run = [o, app = c.app]() -> Result<int> { return run_copy_in(*app, *o); };
  return c;
}

}  // namespace dk::tools
