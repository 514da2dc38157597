// diskit copy-out: virt-copy-out without a VM — guest files and directories
// (recursively) into a local directory. Read-only: the image never changes.
#include <string>
#include <vector>

#include "fs/copy/copy.h"
#include "tools/command.h"
#include "tools/guest_args.h"

namespace dk::tools {
namespace {

struct CopyOutOptions {
  GuestOptions guest;
  std::vector<std::string> args;  // GUESTPATH... LOCALDIR
};

Result<int> run_copy_out(const CLI::App& app, CopyOutOptions& o) {
  if (o.args.size() < 2) return make_error(EINVAL, "expected GUESTPATH... LOCALDIR");
  std::vector<std::string> sources(o.args.begin(), o.args.end() - 1);
  const std::string& local_dir = o.args.back();
  MountedGuest g = DK_TRY(open_mounted(app, o.guest, false));
  DK_TRY(fs::copy_out(g.mounts->tree(), sources, local_dir));
  return 0;
}

}  // namespace

Command add_copy_out(CLI::App& parent) {
  auto o = std::make_shared<CopyOutOptions>();
  Command c;
  c.app = parent.add_subcommand("copy-out", "Copy files and directories out of a guest");
  add_guest_options(*c.app, o->guest, true);
  c.app->add_option("paths", o->args, "GUESTPATH... LOCALDIR")->required()->expected(2, -1);
  c.run = [o, app = c.app]() -> Result<int> { return run_copy_out(*app, *o); };
  return c;
}

}  // namespace dk::tools
