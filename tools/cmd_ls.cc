// diskit ls: virt-ls without a VM — list a directory of a guest.
#include <cinttypes>
#include <cstdio>
#include <string>
#include <vector>

#include "fs/mount.h"
#include "fs/walk.h"
#include "tools/command.h"
#include "tools/guest_args.h"

namespace dk::tools {
namespace {

struct LsOptions {
  GuestOptions guest;
  bool long_mode = false;
  bool recursive = false;
  std::vector<std::string> dirs;
};

char type_char(fs::FileType t) {
  switch (t) {
    case fs::FileType::Regular: return '-';
    case fs::FileType::Directory: return 'd';
    case fs::FileType::CharDev: return 'c';
    case fs::FileType::BlockDev: return 'b';
    case fs::FileType::Fifo: return 'p';
    case fs::FileType::Symlink: return 'l';
    case fs::FileType::Socket: return 's';
    default: return 'u';
  }
}

// virt-ls -l's line: type, permissions, size, path and "-> target" for links.
void print_long(const std::string& path, const fs::Stat& st, fs::Inode& inode) {
  std::printf("%c %04o %10" PRIu64 " %s", type_char(st.type()), st.mode & 07777, st.size, path.c_str());
  if (st.type() == fs::FileType::Symlink) {
    auto target = inode.readlink();
    if (target) std::printf(" -> %s", target->c_str());
  }
  std::printf("\n");
}

Result<void> ls_one(fs::GuestMounts& m, const LsOptions& o, const std::string& dir) {
  if (!o.recursive) {
    auto ents = DK_TRY(fs::list_directory(m.tree(), dir));
    for (auto& e : ents) {
      if (o.long_mode) print_long(e.path, e.st, *e.inode);
      else std::printf("%s\n", e.name.c_str());
    }
    return {};
  }
  if (o.long_mode) {
    // virt-ls -lR shows the start directory first.
    auto r = DK_TRY(m.tree().resolve(dir, false));
    fs::Stat st = DK_TRY(r.inode->stat());
    std::string shown = dir;
    while (shown.size() > 1 && shown.back() == '/') shown.pop_back();
    print_long(shown, st, *r.inode);
  }
  return fs::walk(m.tree(), dir, [&](const fs::WalkEntry& e) -> Result<bool> {
    if (o.long_mode) print_long(e.path, e.st, *e.inode);
    else std::printf("%s\n", e.path.c_str());
    return true;
  });
}

Result<int> run_ls(const CLI::App& app, LsOptions& o) {
  auto guest = DK_TRY(open_guest(app, o.guest, false));
  fs::GuestMounts mounts(*guest);
  DK_TRY(mount_guest(mounts, o.guest, false));
  for (const std::string& d : o.dirs) DK_TRY(ls_one(mounts, o, d));
  return 0;
}

}  // namespace

Command add_ls(CLI::App& parent) {
  auto o = std::make_shared<LsOptions>();
  Command c;
  c.app = parent.add_subcommand("ls", "List a directory in a guest");
  add_guest_options(*c.app, o->guest, true);
  c.app->add_flag("-l,--long", o->long_mode, "Show type, permissions, size and link targets");
  c.app->add_flag("-R,--recursive", o->recursive, "List everything below DIR with full paths");
  c.app->add_option("dir", o->dirs, "Guest directory")->required();
  c.run = [o, app = c.app]() -> Result<int> { return run_ls(*app, *o); };
  return c;
}

}  // namespace dk::tools
