// diskit tar-out: virt-tar-out without a VM — a guest directory as a tar
// archive (FILE, or "-" for standard output). Read-only.
#include <string>
#include <vector>

#include "fs/copy/copy.h"
#include "tools/command.h"
#include "tools/guest_args.h"

namespace dk::tools {
namespace {

struct TarOutOptions {
  GuestOptions guest;
  std::string dir;
  std::string file;
  bool gzip = false;
  std::string compress;
  std::vector<std::string> excludes;
};

Result<int> run_tar_out(const CLI::App& app, TarOutOptions& o) {
  fs::TarOptions t;
  if (o.gzip) t.compress = fs::Compression::Gzip;
  if (!o.compress.empty()) t.compress = DK_TRY(fs::parse_compression(o.compress));
  t.excludes = o.excludes;
  MountedGuest g = DK_TRY(open_mounted(app, o.guest, false));
  DK_TRY(fs::tar_out(g.mounts->tree(), o.dir, o.file, t));
  return 0;
}

}  // namespace

Command add_tar_out(CLI::App& parent) {
  auto o = std::make_shared<TarOutOptions>();
  Command c;
  c.app = parent.add_subcommand("tar-out", "Pack a guest directory into a tar archive");
  add_guest_options(*c.app, o->guest, true);
  c.app->add_flag("-z,--gzip", o->gzip, "Compress with gzip");
  c.app->add_option("--compress", o->compress, "Compress with gzip, bzip2, xz, lzop, compress or zstd");
  c.app->add_option("--exclude", o->excludes, "Leave out members matching this glob (repeatable)")
      ->allow_extra_args(false);
  c.app->add_option("dir", o->dir, "Guest directory")->required();
  c.app->add_option("file", o->file, "Tar file to write (- for standard output)")->required();
  c.run = [o, app = c.app]() -> Result<int> { return run_tar_out(*app, *o); };
  return c;
}

}  // namespace dk::tools
