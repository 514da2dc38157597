// Changing files: write, write-append, touch, mkdir(-p/-mode), rm(-f/-rf),
// rmdir, mv, rename, cp(-r/-a), ln-s(f), chmod, chown, truncate(-size),
// utimens. New files belong to root with guestfish's umask 022.
#include <cstdio>
#include <ctime>

#include "tools/fish/guestio.h"
#include "tools/fish/output.h"
#include "tools/fish/shell.h"

namespace dk::tools::fish {
namespace {

std::string q(std::string_view p) { return "'" + std::string(p) + "'"; }

Result<void> mkdir_one(Shell& sh, const std::string& path, uint32_t mode) {
  auto [parent, name] = DK_TRY(sh.resolve_parent(path));
  fs::NewFile nf;
  nf.mode = mode;
  DK_TRY(at_path(parent.inode->mkdir(name, nf), path));
  return {};
}

Result<void> mkdir_p(Shell& sh, const std::string& path) {
  std::string cur;
  for (const std::string& c : fs::split_path(path)) {
    cur += "/" + c;
    auto r = sh.resolve(cur, true);
    if (r) {
      fs::Stat st = DK_TRY(r->inode->stat());
      if (st.type() != fs::FileType::Directory) return make_error(ENOTDIR, q(cur) + ": Not a directory");
      continue;
    }
    if (r.error().code != ENOENT) return make_error(r.error());
    DK_TRY(mkdir_one(sh, cur, 0755));
  }
  return {};
}

Result<void> remove_tree(fs::Inode& dir, const std::string& path) {
  for (const fs::DirEntry& e : DK_TRY(at_path(dir.readdir(), path))) {
    std::string p = path == "/" ? "/" + e.name : path + "/" + e.name;
    fs::InodePtr child = DK_TRY(at_path(dir.child(e), p));
    fs::Stat st = DK_TRY(at_path(child->stat(), p));
    if (st.type() == fs::FileType::Directory) {
      DK_TRY(remove_tree(*child, p));
      DK_TRY(at_path(dir.rmdir(e.name), p));
    } else {
      DK_TRY(at_path(dir.unlink(e.name), p));
    }
  }
  return {};
}

bool is_mountpoint(Shell& sh, const std::string& canonical) {
  for (const auto& r : sh.mount_records())
    if (r.mountpoint == canonical) return true;
  return false;
}

Result<void> rm(Shell& sh, const std::string& path, bool force, bool recursive) {
  auto target = sh.resolve(path, false);
  if (!target) {
    if (force && (target.error().code == ENOENT || target.error().code == ENOTDIR)) return {};
    return make_error(target.error());
  }
  if (is_mountpoint(sh, target->path)) return make_error(EBUSY, q(path) + ": Device or resource busy");
  auto [parent, name] = DK_TRY(sh.resolve_parent(path));
  fs::Stat st = DK_TRY(target->inode->stat());
  if (st.type() == fs::FileType::Directory) {
    if (!recursive) return make_error(EISDIR, q(path) + ": Is a directory");
    DK_TRY(remove_tree(*target->inode, target->path));
    DK_TRY(at_path(parent.inode->rmdir(name), path));
    return {};
  }
  DK_TRY(at_path(parent.inode->unlink(name), path));
  return {};
}

uint32_t now_sec() { return static_cast<uint32_t>(std::time(nullptr)); }

// Copies one node (recursively for directories when `recursive`) to
// `dparent`/`name`, replacing an existing regular file like cp(1).
Result<void> copy_node(fs::Inode& src, const fs::Stat& st, fs::Inode& dparent, const std::string& name,
                       const std::string& shown, bool recursive, bool preserve) {
  fs::NewFile nf;
  nf.mode = preserve ? (st.mode & 07777) : (st.mode & 0777 & ~022u);
  if (preserve) {
    nf.uid = st.uid;
    nf.gid = st.gid;
  }
  fs::InodePtr made;
  switch (st.type()) {
    case fs::FileType::Regular: {
      auto existing = dparent.lookup(name);
      if (existing) {
        fs::Stat est = DK_TRY((*existing)->stat());
        if (est.type() == fs::FileType::Directory) return make_error(EISDIR, q(shown) + ": Is a directory");
        made = *existing;
        DK_TRY(at_path(made->truncate(0), shown));
      } else {
        made = DK_TRY(at_path(dparent.create(name, nf), shown));
      }
      uint64_t off = 0;
      DK_TRY(read_chunks(src, [&](std::string_view chunk) -> Result<void> {
        DK_TRY(at_path(made->write(off, std::as_bytes(std::span(chunk.data(), chunk.size()))), shown));
        off += chunk.size();
        return {};
      }));
      break;
    }
    case fs::FileType::Directory: {
      if (!recursive) return make_error(EISDIR, "omitting directory " + q(shown));
      auto existing = dparent.lookup(name);
      made = existing ? *existing : DK_TRY(at_path(dparent.mkdir(name, nf), shown));
      for (const fs::DirEntry& e : DK_TRY(src.readdir())) {
        fs::InodePtr child = DK_TRY(src.child(e));
        fs::Stat cst = DK_TRY(child->stat());
        DK_TRY(copy_node(*child, cst, *made, e.name, shown + "/" + e.name, recursive, preserve));
      }
      break;
    }
    case fs::FileType::Symlink: {
      std::string target = DK_TRY(src.readlink());
      made = DK_TRY(at_path(dparent.symlink(name, target, nf), shown));
      break;
    }
    default:
      return make_error(ENOTSUP, q(shown) + ": copying device nodes, FIFOs and sockets is not supported");
  }
  if (preserve) {
    if (st.type() != fs::FileType::Symlink) DK_TRY(at_path(made->chmod(st.mode & 07777), shown));
    DK_TRY(at_path(made->chown(st.uid, st.gid), shown));
    DK_TRY(at_path(made->utimens(st.atime, st.mtime), shown));
  }
  return {};
}

// cp/mv destination rule: an existing directory receives the source by name.
Result<std::pair<fs::Mounts::Resolved, std::string>> dest_of(Shell& sh, const std::string& src,
                                                              const std::string& dest) {
  auto d = sh.resolve(dest, true);
  if (d) {
    fs::Stat st = DK_TRY(d->inode->stat());
    if (st.type() == fs::FileType::Directory) {
      auto parts = fs::split_path(src);
      if (parts.empty()) return make_error(EINVAL, "cannot copy or move '/'");
      return std::make_pair(std::move(*d), parts.back());
    }
  }
  return sh.resolve_parent(dest);
}

Result<void> cp(Shell& sh, const std::string& src, const std::string& dest, bool recursive, bool preserve) {
  auto s = DK_TRY(sh.resolve(src, !recursive));
  fs::Stat st = DK_TRY(s.inode->stat());
  auto [dparent, name] = DK_TRY(dest_of(sh, src, dest));
  return copy_node(*s.inode, st, *dparent.inode, name, dest, recursive, preserve);
}

Result<void> mv(Shell& sh, const std::string& src, const std::string& dest, bool into_dirs) {
  auto s = DK_TRY(sh.resolve(src, false));
  if (is_mountpoint(sh, s.path)) return make_error(EBUSY, q(src) + ": Device or resource busy");
  auto [sparent, sname] = DK_TRY(sh.resolve_parent(src));
  std::pair<fs::Mounts::Resolved, std::string> d =
      into_dirs ? DK_TRY(dest_of(sh, src, dest)) : DK_TRY(sh.resolve_parent(dest));
  if (sparent.fs != d.first.fs) {
    if (!into_dirs) return make_error(EXDEV, q(src) + " and " + q(dest) + " are on different file systems");
    // mv(1) across file systems: copy, then remove the source.
    fs::Stat st = DK_TRY(s.inode->stat());
    DK_TRY(copy_node(*s.inode, st, *d.first.inode, d.second, dest, true, true));
    return rm(sh, src, false, true);
  }
  DK_TRY(at_path(sparent.inode->rename(sname, *d.first.inode, d.second), src));
  return {};
}

Result<void> symlink(Shell& sh, const std::string& target, const std::string& link, bool force) {
  if (force) DK_TRY(rm(sh, link, true, false));
  auto [parent, name] = DK_TRY(sh.resolve_parent(link));
  fs::NewFile nf;
  nf.mode = 0777;
  DK_TRY(at_path(parent.inode->symlink(name, target, nf), link));
  return {};
}

Result<uint32_t> mode_arg(const std::string& s) {
  int64_t m = DK_TRY(parse_integer(s, "mode"));
  if (m < 0 || m > 07777) return make_error(EINVAL, "mode: " + s + ": out of range");
  return static_cast<uint32_t>(m);
}

FishCommand wcmd(const char* name, const char* params, int nargs, const char* summary, const char* desc,
                 Handler h) {
  FishCommand c = make_command(name, params, nargs, Need::Root, summary, desc, std::move(h));
  c.writes = true;
  return c;
}

}  // namespace

void add_write_commands(CommandTable& t) {
  t.add(wcmd("write", "path content", 2, "create a new file",
             "Creates or replaces the file with content (use \"...\" with escapes such as \\n).",
             [](Shell& sh, const Call& c) { return write_guest_file(sh, c.args[0], c.args[1], false); }));
  t.add(wcmd("write-append", "path content", 2, "append content to end of file",
             "Appends content to the file, creating it when it does not exist.",
             [](Shell& sh, const Call& c) { return write_guest_file(sh, c.args[0], c.args[1], true); }));
  t.add(wcmd("touch", "path", 1, "update file timestamps or create a new file",
             "Creates an empty file, or sets the times of an existing one to now.",
             [](Shell& sh, const Call& c) -> Result<void> {
               auto r = sh.resolve(c.args[0], true);
               if (r) {
                 fs::Timespec now{static_cast<int64_t>(now_sec()), 0};
                 DK_TRY(at_path(r->inode->utimens(now, now), c.args[0]));
                 return {};
               }
               if (r.error().code != ENOENT) return make_error(r.error());
               return write_guest_file(sh, c.args[0], "", true);
             }));
  t.add(wcmd("mkdir", "path", 1, "create a directory", "Creates the directory (mode 0755).",
             [](Shell& sh, const Call& c) { return mkdir_one(sh, c.args[0], 0755); }));
  t.add(wcmd("mkdir-p", "path", 1, "create a directory and parents",
             "Creates the directory and any missing parents; an existing directory is fine.",
             [](Shell& sh, const Call& c) { return mkdir_p(sh, c.args[0]); }));
  t.add(wcmd("mkdir-mode", "path mode", 2, "create a directory with a particular mode",
             "Creates the directory with the mode (an integer: 0755 is octal).",
             [](Shell& sh, const Call& c) -> Result<void> {
               return mkdir_one(sh, c.args[0], DK_TRY(mode_arg(c.args[1])));
             }));
  t.add(wcmd("rm", "path", 1, "remove a file", "Removes a file (not a directory).",
             [](Shell& sh, const Call& c) { return rm(sh, c.args[0], false, false); }));
  t.add(wcmd("rm-f", "path", 1, "remove a file ignoring errors",
             "Removes a file; a missing file is not an error.",
             [](Shell& sh, const Call& c) { return rm(sh, c.args[0], true, false); }));
  t.add(wcmd("rm-rf", "path", 1, "remove a file or directory recursively",
             "Removes the file or the directory and everything in it; missing is not an error.",
             [](Shell& sh, const Call& c) { return rm(sh, c.args[0], true, true); }));
  t.add(wcmd("rmdir", "path", 1, "remove a directory", "Removes an empty directory.",
             [](Shell& sh, const Call& c) -> Result<void> {
               auto [parent, name] = DK_TRY(sh.resolve_parent(c.args[0]));
               DK_TRY(at_path(parent.inode->rmdir(name), c.args[0]));
               return {};
             }));
  t.add(wcmd("mv", "src dest", 2, "move a file",
             "Moves src to dest (into dest when it is a directory), across file systems too.",
             [](Shell& sh, const Call& c) { return mv(sh, c.args[0], c.args[1], true); }));
  t.add(wcmd("rename", "oldpath newpath", 2, "rename a file on the same filesystem",
             "rename(2): both paths must be on the same file system.",
             [](Shell& sh, const Call& c) { return mv(sh, c.args[0], c.args[1], false); }));
  t.add(wcmd("cp", "src dest", 2, "copy a file", "Copies a file (into dest when it is a directory).",
             [](Shell& sh, const Call& c) { return cp(sh, c.args[0], c.args[1], false, false); }));
  t.add(wcmd("cp-r", "src dest", 2, "copy a file or directory recursively",
             "Copies a file or directory tree (cp -rP).",
             [](Shell& sh, const Call& c) { return cp(sh, c.args[0], c.args[1], true, false); }));
  t.add(wcmd("cp-a", "src dest", 2, "copy a file or directory recursively",
             "Copies a file or directory tree keeping modes, owners and times (cp -a).",
             [](Shell& sh, const Call& c) { return cp(sh, c.args[0], c.args[1], true, true); }));
  t.add(wcmd("ln-s", "target linkname", 2, "create a symbolic link",
             "Creates the symbolic link linkname pointing at target.",
             [](Shell& sh, const Call& c) { return symlink(sh, c.args[0], c.args[1], false); }));
  t.add(wcmd("ln-sf", "target linkname", 2, "create a symbolic link",
             "Like ln-s, removing an existing linkname first.",
             [](Shell& sh, const Call& c) { return symlink(sh, c.args[0], c.args[1], true); }));
  t.add(wcmd("chmod", "mode path", 2, "change file mode",
             "Sets the permission bits (an integer: write 0755 for octal, as in guestfish).",
             [](Shell& sh, const Call& c) -> Result<void> {
               uint32_t m = DK_TRY(mode_arg(c.args[0]));
               auto r = DK_TRY(sh.resolve(c.args[1], true));
               DK_TRY(at_path(r.inode->chmod(m), c.args[1]));
               return {};
             }));
  t.add(wcmd("chown", "owner group path", 3, "change file owner and group",
             "Sets the numeric owner and group (-1 keeps one unchanged).",
             [](Shell& sh, const Call& c) -> Result<void> {
               int64_t o = DK_TRY(parse_integer(c.args[0], "owner"));
               int64_t g = DK_TRY(parse_integer(c.args[1], "group"));
               auto r = DK_TRY(sh.resolve(c.args[2], true));
               auto id = [](int64_t v) -> std::optional<uint32_t> {
                 return v < 0 ? std::nullopt : std::optional<uint32_t>(static_cast<uint32_t>(v));
               };
               DK_TRY(at_path(r.inode->chown(id(o), id(g)), c.args[2]));
               return {};
             }));
  t.add(wcmd("truncate", "path", 1, "truncate a file to zero size", "Truncates the file to 0 bytes.",
             [](Shell& sh, const Call& c) -> Result<void> {
               fs::InodePtr ino = DK_TRY(open_regular(sh, c.args[0]));
               DK_TRY(at_path(ino->truncate(0), c.args[0]));
               return {};
             }));
  t.add(wcmd("truncate-size", "path size", 2, "truncate a file to a particular size",
             "Sets the file's size (sizes such as 10M are accepted); growing makes a hole.",
             [](Shell& sh, const Call& c) -> Result<void> {
               int64_t size = DK_TRY(parse_integer(c.args[1], "size"));
               if (size < 0) return make_error(EINVAL, "size must be >= 0");
               fs::InodePtr ino = DK_TRY(open_regular(sh, c.args[0]));
               DK_TRY(at_path(ino->truncate(static_cast<uint64_t>(size)), c.args[0]));
               return {};
             }));
  t.add(wcmd("utimens", "path atsecs atnsecs mtsecs mtnsecs", 5, "set timestamp of a file with nanosecond precision",
             "Sets the access and modification times; an nsecs of -1 means now, -2 leaves\n"
             "that time unchanged.",
             [](Shell& sh, const Call& c) -> Result<void> {
               int64_t v[4];
               for (int i = 0; i < 4; ++i) v[i] = DK_TRY(parse_integer(c.args[static_cast<size_t>(i) + 1], "time"));
               auto ts = [](int64_t sec, int64_t nsec) -> std::optional<fs::Timespec> {
                 if (nsec == -2) return std::nullopt;
                 if (nsec == -1) return fs::Timespec{static_cast<int64_t>(std::time(nullptr)), 0};
                 return fs::Timespec{sec, static_cast<uint32_t>(nsec)};
               };
               auto r = DK_TRY(sh.resolve(c.args[0], true));
               DK_TRY(at_path(r.inode->utimens(ts(v[0], v[1]), ts(v[2], v[3])), c.args[0]));
               return {};
             }));
  FishCommand ln = kernel_only("ln", "target linkname", "create a hard link", 2);
  ln.description = "Hard links are not supported by diskit's file system interface yet.";
  t.add(ln);
}

}  // namespace dk::tools::fish
