// diskit cat: virt-cat without a VM — a guest file's bytes on stdout.
#include <cstdio>
#include <string>
#include <vector>

#include "fs/mount.h"
#include "tools/command.h"
#include "tools/guest_args.h"

namespace dk::tools {
namespace {

struct CatOptions {
  GuestOptions guest;
  std::vector<std::string> files;
};

constexpr size_t kChunk = 4u << 20;

Result<void> cat_one(fs::GuestMounts& m, const std::string& path, std::vector<std::byte>& buf) {
  auto r = DK_TRY(m.tree().resolve(path, true));
  fs::Stat st = DK_TRY_CTX(r.inode->stat(), "'" + path + "'");
  if (st.type() == fs::FileType::Directory) return make_error(EISDIR, "'" + path + "': Is a directory");
  uint64_t off = 0;
  for (;;) {
    size_t got = DK_TRY_CTX(r.inode->read(off, buf), "'" + path + "'");
    if (got == 0) break;
    if (std::fwrite(buf.data(), 1, got, stdout) != got) return errno_error("writing to standard output");
    off += got;
  }
  return {};
}

Result<int> run_cat(const CLI::App& app, CatOptions& o) {
  auto guest = DK_TRY(open_guest(app, o.guest, false));
  fs::GuestMounts mounts(*guest);
  DK_TRY(mount_guest(mounts, o.guest, false));
  std::vector<std::byte> buf(kChunk);
  int status = 0;
  for (const std::string& f : o.files) {
    auto r = cat_one(mounts, f, buf);
    if (!r) {
      std::fflush(stdout);
      std::fprintf(stderr, "diskit: cat: %s\n", r.error().message.c_str());
      status = 1;
    }
  }
  if (std::fflush(stdout) != 0) return errno_error("writing to standard output");
  return status;
}

}  // namespace

Command add_cat(CLI::App& parent) {
  auto o = std::make_shared<CatOptions>();
  Command c;
  c.app = parent.add_subcommand("cat", "Print files from a guest");
  add_guest_options(*c.app, o->guest, true);
  c.app->add_option("file", o->files, "Guest file")->required();
  c.run = [o, app = c.app]() -> Result<int> { return run_cat(*app, *o); };
  return c;
}

}  // namespace dk::tools
