// diskit tar-in: virt-tar-in without a VM — unpack a tar archive (FILE, or
// "-" for standard input; any compression libarchive reads) into a guest
// directory. Opens the images read-write with their lock, and flushes every
// file system before it reports success.
#include <string>

#include "fs/copy/copy.h"
#include "tools/command.h"
#include "tools/guest_args.h"

namespace dk::tools {
namespace {

struct TarInOptions {
  GuestOptions guest;
  std::string file;
  std::string dir;
  bool gzip = false;
  std::string compress;
};

Result<int> run_tar_in(const CLI::App& app, TarInOptions& o) {
  // The filter is detected from the data; a named one is only validated.
  if (!o.compress.empty()) DK_TRY(fs::parse_compression(o.compress));
  MountedGuest g = DK_TRY(open_mounted(app, o.guest, true));
  DK_TRY(fs::tar_in(g.mounts->tree(), o.file, o.dir));
  DK_TRY(g.mounts->flush_all());
  return 0;
}

}  // namespace

Command add_tar_in(CLI::App& parent) {
  auto o = std::make_shared<TarInOptions>();
  Command c;
  c.app = parent.add_subcommand("tar-in", "Unpack a tar archive into a guest directory");
  add_guest_options(*c.app, o->guest, true);
  c.app->add_flag("-z,--gzip", o->gzip, "Accepted for compatibility (compression is detected)");
  c.app->add_option("--compress", o->compress, "Accepted for compatibility (compression is detected)");
  c.app->add_option("file", o->file, "Tar file to read (- for standard input)")->required();
  c.app->add_option("dir", o->dir, "Guest directory")->required();
  c.run = [o, app = c.app]() -> Result<int> { return run_tar_in(*app, *o); };
  return c;
}

}  // namespace dk::tools
