// File information: stat(ns), lstat(ns), statvfs, exists, is-*, readlink,
// filesize.
#include <cinttypes>
#include <cstdio>

#include "tools/fish/output.h"
#include "tools/fish/shell.h"

namespace dk::tools::fish {
namespace {

// The device number the file system would have in guestfish's appliance:
// /dev/sdX is SCSI disk major 8, 16 minors per disk.
uint64_t device_number(Shell& sh, fs::FileSystem* fs) {
  for (const auto& e : sh.mounts().entries()) {
    if (e.fs.get() != fs) continue;
    auto dev = sh.guest().find(e.device);
    if (!dev) return 0;
    uint64_t major = 8, minor = dev->disk * 16 + static_cast<uint64_t>(dev->partnum);
    return ((major & 0xfff) << 8) | (minor & 0xff) | ((minor & ~0xffull) << 12) | ((major & ~0xfffull) << 32);
  }
  return 0;
}

// guestfish's appliance mounts with relatime (ST_RELATIME in statvfs flags).
constexpr uint64_t kRelatime = 4096;

std::string s(uint64_t v) { return std::to_string(static_cast<int64_t>(v)); }

Result<void> stat_cmd(Shell& sh, const std::string& path, bool follow, bool ns) {
  auto r = DK_TRY(sh.resolve(path, follow));
  fs::Stat st = DK_TRY_CTX(r.inode->stat(), "'" + path + "'");
  uint64_t dev = device_number(sh, r.fs);
  if (!ns) {
    print_struct({{"dev", s(dev)}, {"ino", s(st.ino)}, {"mode", s(st.mode)}, {"nlink", s(st.nlink)},
                  {"uid", s(st.uid)}, {"gid", s(st.gid)}, {"rdev", s(st.rdev)}, {"size", s(st.size)},
                  {"blksize", s(st.blksize)}, {"blocks", s(st.blocks)}, {"atime", std::to_string(st.atime.sec)},
                  {"mtime", std::to_string(st.mtime.sec)}, {"ctime", std::to_string(st.ctime.sec)}});
    return {};
  }
  print_struct({{"st_dev", s(dev)},
                {"st_ino", s(st.ino)},
                {"st_mode", s(st.mode)},
                {"st_nlink", s(st.nlink)},
                {"st_uid", s(st.uid)},
                {"st_gid", s(st.gid)},
                {"st_rdev", s(st.rdev)},
                {"st_size", s(st.size)},
                {"st_blksize", s(st.blksize)},
                {"st_blocks", s(st.blocks)},
                {"st_atime_sec", std::to_string(st.atime.sec)},
                {"st_atime_nsec", std::to_string(st.atime.nsec)},
                {"st_mtime_sec", std::to_string(st.mtime.sec)},
                {"st_mtime_nsec", std::to_string(st.mtime.nsec)},
                {"st_ctime_sec", std::to_string(st.ctime.sec)},
                {"st_ctime_nsec", std::to_string(st.ctime.nsec)},
                {"st_spare1", "0"},
                {"st_spare2", "0"},
                {"st_spare3", "0"},
                {"st_spare4", "0"},
                {"st_spare5", "0"},
                {"st_spare6", "0"}});
  return {};
}

// The file's type, or Unknown when it does not exist (is-* print false
// rather than fail, as guestfish does). I/O errors still fail.
Result<fs::FileType> type_of(Shell& sh, const std::string& path, bool follow) {
  auto r = sh.resolve(path, follow);
  if (!r) {
    int e = r.error().code;
    if (e == ENOENT || e == ENOTDIR || e == ELOOP || e == ENAMETOOLONG) return fs::FileType::Unknown;
    return make_error(r.error());
  }
  fs::Stat st = DK_TRY(r->inode->stat());
  return st.type();
}

FishCommand is_cmd(const char* name, const char* summary, fs::FileType want, bool has_follow) {
  FishCommand c = make_command(name, "path", 1, Need::Root, summary,
                               has_follow ? "Prints true when the path exists and is of this type. A symbolic link is\n"
                                            "not followed unless followsymlinks:true."
                                          : "Prints true when the path exists and is of this type.",
                               [want, has_follow](Shell& sh, const Call& c) -> Result<void> {
                                 bool follow = has_follow && c.flag("followsymlinks");
                                 print_bool(DK_TRY(type_of(sh, c.args[0], follow)) == want);
                                 return {};
                               });
  if (has_follow) c.optargs = {{"followsymlinks", OptKind::Bool}};
  return c;
}

}  // namespace

void add_stat_commands(CommandTable& t) {
  for (auto [name, follow, ns] : {std::tuple{"stat", true, false}, std::tuple{"lstat", false, false},
                                  std::tuple{"statns", true, true}, std::tuple{"lstatns", false, true}}) {
    bool f = follow, n = ns;
    std::string summary = follow ? "get file information" : "get file information for a symbolic link";
    std::string desc = std::string("Prints the file's stat(2) fields") + (follow ? "" : " (a symbolic link itself, not its target)") +
                       (ns ? ", with nanosecond times." : ", times in whole seconds (statns adds nanoseconds).");
    t.add(make_command(name, "path", 1, Need::Root, summary, desc,
                       [f, n](Shell& sh, const Call& c) { return stat_cmd(sh, c.args[0], f, n); }));
  }
  t.add(make_command("statvfs", "path", 1, Need::Root, "get file system statistics",
                     "Prints statvfs(3) of the file system holding path.",
                     [](Shell& sh, const Call& c) -> Result<void> {
                       auto r = DK_TRY(sh.resolve(c.args[0], true));
                       fs::StatVfs v = DK_TRY(r.fs->statvfs());
                       print_struct({{"bsize", s(v.bsize)},
                                     {"frsize", s(v.frsize)},
                                     {"blocks", s(v.blocks)},
                                     {"bfree", s(v.bfree)},
                                     {"bavail", s(v.bavail)},
                                     {"files", s(v.files)},
                                     {"ffree", s(v.ffree)},
                                     {"favail", s(v.favail)},
                                     {"fsid", s(v.fsid)},
                                     {"flag", s(v.flag | kRelatime)},
                                     {"namemax", s(v.namemax)}});
                       return {};
                     }));
  t.add(make_command("exists", "path", 1, Need::Root, "test if file or directory exists",
                     "Prints true when the path exists (a symbolic link counts when its target does).",
                     [](Shell& sh, const Call& c) -> Result<void> {
                       print_bool(DK_TRY(type_of(sh, c.args[0], true)) != fs::FileType::Unknown);
                       return {};
                     }));
  t.add(is_cmd("is-file", "test if a regular file", fs::FileType::Regular, true));
  t.add(is_cmd("is-dir", "test if a directory", fs::FileType::Directory, true));
  t.add(is_cmd("is-symlink", "test if symbolic link", fs::FileType::Symlink, false));
  t.add(is_cmd("is-blockdev", "test if block device", fs::FileType::BlockDev, true));
  t.add(is_cmd("is-chardev", "test if character device", fs::FileType::CharDev, true));
  t.add(is_cmd("is-fifo", "test if FIFO (named pipe)", fs::FileType::Fifo, true));
  t.add(is_cmd("is-socket", "test if socket", fs::FileType::Socket, true));
  t.add(make_command("readlink", "path", 1, Need::Root, "read the target of a symbolic link",
                     "Prints the target of the symbolic link, as stored.",
                     [](Shell& sh, const Call& c) -> Result<void> {
                       auto r = DK_TRY(sh.resolve(c.args[0], false));
                       print_string(DK_TRY_CTX(r.inode->readlink(), "'" + c.args[0] + "'"));
                       return {};
                     }));
  t.add(make_command("filesize", "file", 1, Need::Root, "return the size of the file in bytes",
                     "Prints the size of the file in bytes (links followed).",
                     [](Shell& sh, const Call& c) -> Result<void> {
                       auto r = DK_TRY(sh.resolve(c.args[0], true));
                       print_int(static_cast<int64_t>(DK_TRY(r.inode->stat()).size));
                       return {};
                     }));
}

}  // namespace dk::tools::fish
