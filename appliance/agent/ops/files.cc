// File access on file systems the host cannot read natively (xfs, btrfs,
// ntfs, exfat, LVs, LUKS): the host's RemoteFs (appliance/host/remote_fs)
// mounts a device here and then works on paths inside that mount.
//
// Confinement: a request names a mount by the id "mount" returned and a
// path inside it. Every path is resolved with openat2(RESOLVE_IN_ROOT)
// from the mount's root, so "..", absolute symlinks and hostile links in
// the guest's file system all stay inside that file system; operations on
// the last component (lstat, unlink, rename, symlink...) work on the
// parent directory's descriptor with *at() calls that do not follow it.
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "appliance/agent/ops/common.h"

namespace dk::agent::ops {
namespace {

constexpr const char* kSysroot = "/sysroot";
constexpr size_t kMaxRead = 16u << 20;  // per request; the host asks in pieces

class Fd {
 public:
  explicit Fd(int fd = -1) : m_fd(fd) {}
  Fd(Fd&& o) noexcept : m_fd(o.m_fd) { o.m_fd = -1; }
  Fd& operator=(Fd&& o) noexcept {
    std::swap(m_fd, o.m_fd);
    return *this;
  }
  ~Fd() {
    if (m_fd >= 0) ::close(m_fd);
  }
  int get() const { return m_fd; }

 private:
  int m_fd;
};

struct GuestMount {
  std::string device;  // user name
  std::string dir;     // /sysroot/N
  Fd root;             // O_PATH descriptor of dir
};

// The agent serves one request at a time, so a plain table is enough.
std::map<int64_t, std::unique_ptr<GuestMount>>& mounts() {
  static std::map<int64_t, std::unique_ptr<GuestMount>> m;
  return m;
}

Result<GuestMount*> mount_arg(Context& ctx) {
  int64_t id = DK_TRY(int_arg(ctx, "mount"));
  auto it = mounts().find(id);
  if (it == mounts().end()) return make_error(EINVAL, "mount id " + std::to_string(id) + " is not mounted");
  return it->second.get();
}

// A path inside the mount: absolute, at most PATH_MAX, no NUL.
Result<std::string> path_arg(Context& ctx, const char* name = "path") {
  std::string p = DK_TRY(str_arg(ctx, name));
  if (p.empty() || p[0] != '/') return make_error(EINVAL, "'" + p + "': path must start with a / character");
  if (p.size() > 4096) return make_error(ENAMETOOLONG, "path is too long");
  if (p.find('\0') != std::string::npos) return make_error(EINVAL, "path contains a NUL byte");
  return p;
}

Result<Fd> open_in(GuestMount& m, const std::string& path, uint64_t flags, uint64_t mode = 0) {
  open_how how{};
  how.flags = flags | O_CLOEXEC;
  how.mode = mode;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  std::string rel = path == "/" ? "." : path.substr(1);
  long fd = ::syscall(SYS_openat2, m.root.get(), rel.c_str(), &how, sizeof how);
  if (fd < 0) return errno_error("'" + path + "'");
  return Fd(static_cast<int>(fd));
}

// The parent directory of path (resolved) and its last component.
Result<std::pair<Fd, std::string>> open_parent(GuestMount& m, const std::string& path) {
  size_t end = path.find_last_not_of('/');
  if (end == std::string::npos) return make_error(EINVAL, "'" + path + "': the root has no parent");
  size_t slash = path.rfind('/', end);
  std::string name = path.substr(slash + 1, end - slash);
  if (name == "." || name == "..") return make_error(EINVAL, "'" + path + "': path ends in '" + name + "'");
  if (name.size() > 255) return make_error(ENAMETOOLONG, "'" + path + "': name is too long");
  std::string dir = slash == 0 ? "/" : path.substr(0, slash);
  Fd fd = DK_TRY(open_in(m, dir, O_PATH | O_DIRECTORY));
  return std::make_pair(std::move(fd), name);
}

json time_json(const struct timespec& t) { return json::array({static_cast<int64_t>(t.tv_sec), t.tv_nsec}); }

json stat_json(const struct stat& st) {
  return {{"ino", st.st_ino},         {"mode", st.st_mode},       {"uid", st.st_uid},
          {"gid", st.st_gid},         {"nlink", st.st_nlink},     {"size", st.st_size},
          {"blocks", st.st_blocks},   {"blksize", st.st_blksize}, {"rdev", st.st_rdev},
          {"atime", time_json(st.st_atim)}, {"mtime", time_json(st.st_mtim)}, {"ctime", time_json(st.st_ctim)}};
}

// blkid's name for a mounted file system, from statfs' magic number (the
// host shows it for devices it could not probe itself, such as LVs).
std::string type_of_mount(int fd) {
  struct statfs sf {};
  if (::fstatfs(fd, &sf) != 0) return {};
  switch (static_cast<uint64_t>(sf.f_type)) {
    case 0x58465342: return "xfs";
    case 0x9123683E: return "btrfs";
    case 0xEF53: return "ext4";
    case 0x4d44: return "vfat";
    case 0x2011BAB0: return "exfat";
    case 0x7366746e: case 0x65735546: return "ntfs";
    case 0x9660: return "iso9660";
    default: return {};
  }
}

Result<json> op_mount(Context& ctx) {
  std::string user = DK_TRY(str_arg(ctx, "device"));
  std::string dev = DK_TRY(check_device(ctx, user, DevKind::Any));
  // Host mode (--stdio --device sdX=FILE) maps disks to files: mounting
  // there would mount on the host, so only guest block devices qualify.
  if (dev.compare(0, 5, "/dev/") != 0) return make_error(ENOTSUP, "mount: '" + user + "' is not a block device here");
  auto vfstype = DK_TRY(opt_str(ctx, "vfstype"));
  auto options = DK_TRY(opt_str(ctx, "options"));
  bool ro = DK_TRY(opt_bool(ctx, "readonly")).value_or(false);
  if (vfstype && !is_plain_name(*vfstype)) return make_error(EINVAL, "'" + *vfstype + "': not a file system type");
  static int64_t next_id = 1;
  int64_t id = next_id++;
  std::string dir = std::string(kSysroot) + "/" + std::to_string(id);
  ::mkdir(kSysroot, 0755);
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return errno_error("mkdir " + dir);
  std::vector<std::string> argv = {"mount"};
  if (vfstype) argv.insert(argv.end(), {"-t", *vfstype});
  std::string opts = options.value_or("");
  if (ro) opts = opts.empty() ? "ro" : opts + ",ro";
  if (!opts.empty()) argv.insert(argv.end(), {"-o", opts});
  argv.insert(argv.end(), {dev, dir});
  auto r = run_tool(ctx, argv, "mount: " + user);
  if (!r) {
    ::rmdir(dir.c_str());
    return make_error(r.error());
  }
  int fd = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno_error("open " + dir);
  auto m = std::make_unique<GuestMount>();
  m->device = user;
  m->dir = dir;
  m->root = Fd(fd);
  std::string type = type_of_mount(fd);
  mounts()[id] = std::move(m);
  return json({{"mount", id}, {"type", type}});
}

Result<json> op_umount(Context& ctx) {
  GuestMount* m = DK_TRY(mount_arg(ctx));
  std::string dir = m->dir;
  int64_t id = DK_TRY(int_arg(ctx, "mount"));
  m->root = Fd();
  ::sync();
  if (::umount2(dir.c_str(), 0) != 0) {
    int e = errno;
    m->root = Fd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    return errno_error("umount " + m->device, e);
  }
  ::rmdir(dir.c_str());
  mounts().erase(id);
  return json(nullptr);
}

Result<json> op_stat_common(Context& ctx, bool follow) {
  GuestMount* m = DK_TRY(mount_arg(ctx));
  std::string path = DK_TRY(path_arg(ctx));
  struct stat st {};
  if (follow || path.find_last_not_of('/') == std::string::npos) {
    Fd fd = DK_TRY(open_in(*m, path, O_PATH));
    if (::fstat(fd.get(), &st) != 0) return errno_error("'" + path + "'");
  } else {
    auto [dir, name] = DK_TRY(open_parent(*m, path));
    if (::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return errno_error("'" + path + "'");
  }
  return stat_json(st);
}

Result<json> op_stat(Context& ctx) { return op_stat_common(ctx, true); }
Result<json> op_lstat(Context& ctx) { return op_stat_common(ctx, false); }

// Names, types and lstat of every entry in one answer: the host lists a
// directory with one round trip instead of one per entry.
Result<json> op_readdir(Context& ctx) {
  GuestMount* m = DK_TRY(mount_arg(ctx));
  std::string path = DK_TRY(path_arg(ctx));
  Fd fd = DK_TRY(open_in(*m, path, O_RDONLY | O_DIRECTORY));
  int dfd = ::dup(fd.get());
  if (dfd < 0) return errno_error("dup");
  DIR* d = ::fdopendir(dfd);
  if (!d) {
    ::close(dfd);
    return errno_error("'" + path + "'");
  }
  json out = json::array();
  errno = 0;
  while (dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    struct stat st {};
    json entry = {{"name", e->d_name}};
    if (::fstatat(fd.get(), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) entry["stat"] = stat_json(st);
    out.push_back(std::move(entry));
    errno = 0;
  }
  int err = errno;
  ::closedir(d);
  if (err) return errno_error("readdir '" + path + "'", err);
  return out;
}

Result<json> op_readlink(Context& ctx) {
  GuestMount* m = DK_TRY(mount_arg(ctx));
  std::string path = DK_TRY(path_arg(ctx));
  auto [dir, name] = DK_TRY(open_parent(*m, path));
  std::vector<char> buf(4097);
  ssize_t n = ::readlinkat(dir.get(), name.c_str(), buf.data(), buf.size());
  if (n < 0) return errno_error("'" + path + "'");
  return json(std::string(buf.data(), static_cast<size_t>(n)));
}

// Streams up to `size` bytes from `offset` to the host; the answer says
// how many were sent (short only at end of file).
Result<json> op_read(Context& ctx) {
  GuestMount* m = DK_TRY(mount_arg(ctx));
  std::string path = DK_TRY(path_arg(ctx));
  int64_t off = DK_TRY(int_arg(ctx, "offset"));
  int64_t size = DK_TRY(int_arg(ctx, "size"));
  if (off < 0 || size < 0) return make_error(EINVAL, "offset and size must be >= 0");
  Fd fd = DK_TRY(open_in(*m, path, O_RDONLY));
  struct stat st {};
  if (::fstat(fd.get(), &st) == 0 && S_ISDIR(st.st_mode)) return make_error(EISDIR, "'" + path + "': Is a directory");
  uint64_t left = std::min<uint64_t>(static_cast<uint64_t>(size), kMaxRead);
  std::vector<std::byte> buf(std::min<uint64_t>(left, 1u << 20));
  uint64_t done = 0;
  while (left > 0) {
    ssize_t n = ::pread(fd.get(), buf.data(), std::min<uint64_t>(left, buf.size()), off + static_cast<int64_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("read '" + path + "'");
    }
    if (n == 0) break;
    DK_TRY(ctx.write_download(std::span<const std::byte>(buf.data(), static_cast<size_t>(n))));
    done += static_cast<uint64_t>(n);
    left -= static_cast<uint64_t>(n);
  }
  return json({{"size", done}});
}

// Writes the uploaded bytes at `offset`; creates nothing (the host calls
// create first).
Result<json> op_write(Context& ctx) {
  GuestMount* m = DK_TRY(mount_arg(ctx));
  std::string path = DK_TRY(path_arg(ctx));
  int64_t off = DK_TRY(int_arg(ctx, "offset"));
  if (off < 0) return make_error(EINVAL, "offset must be >= 0");
  Fd fd = DK_TRY(open_in(*m, path, O_WRONLY));
  std::vector<std::byte> buf(1u << 20);
  uint64_t done = 0;
  while (true) {
    size_t n = DK_TRY(ctx.read_upload(std::span<std::byte>(buf)));
    if (n == 0) break;
    size_t put = 0;
    while (put < n) {
      ssize_t w = ::pwrite(fd.get(), buf.data() + put, n - put, off + static_cast<int64_t>(done + put));
      if (w < 0) {
        if (errno == EINTR) continue;
        return errno_error("write '" + path + "'");
      }
      put += static_cast<size_t>(w);
    }
    done += n;
  }
  return json({{"size", done}});
}

Result<void> set_owner(int dirfd, const std::string& name, Context& ctx) {
  auto uid = DK_TRY(opt_int(ctx, "uid"));
  auto gid = DK_TRY(opt_int(ctx, "gid"));
  if (!uid && !gid) return {};
  if (::fchownat(dirfd, name.c_str(), uid ? static_cast<uid_t>(*uid) : static_cast<uid_t>(-1),
                 gid ? static_cast<gid_t>(*gid) : static_cast<gid_t>(-1), AT_SYMLINK_NOFOLLOW) != 0)
    return errno_error("chown '" + name + "'");
  return {};
}

Result<json> lstat_at(int dirfd, const std::string& name) {
  struct stat st {};
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return errno_error("'" + name + "'");
  return stat_json(st);
}

Result<json> op_create(Context& ctx) {
  GuestMount* m = DK_TRY(mount_arg(ctx));
  std::string path = DK_TRY(path_arg(ctx));
  int64_t mode = DK_TRY(opt_int(ctx, "mode")).value_or(0644);
  auto [dir, name] = DK_TRY(open_parent(*m, path));
  int fd = ::openat(dir.get(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    static_cast<mode_t>(mode & 07777));
  if (fd < 0) return errno_error("'" + path + "'");
  ::fchmod(fd, static_cast<mode_t>(mode & 07777));  // not narrowed by the umask
  ::close(fd);
  DK_TRY(set_owner(dir.get(), name, ctx));
  return lstat_at(dir.get(), name);
}

Result<json> op_mkdir(Context& ctx) {
  GuestMount* m = DK_TRY(mount_arg(ctx));
  std::string path = DK_TRY(path_arg(ctx));
  int64_t mode = DK_TRY(opt_int(ctx, "mode")).value_or(0755);
  auto [dir, name] = DK_TRY(open_parent(*m, path));
  if (::mkdirat(dir.get(), name.c_str(), static_cast<mode_t>(mode & 07777)) != 0) return errno_error("'" + path + "'");
  ::fchmodat(dir.get(), name.c_str(), static_cast<mode_t>(mode & 07777), 0);
  DK_TRY(set_owner(dir.get(), name, ctx));
  return lstat_at(dir.get(), name);
}

Result<json> op_symlink(Context& ctx) {
  GuestMount* m = DK_TRY(mount_arg(ctx));
  std::string path = DK_TRY(path_arg(ctx));
  std::string target = DK_TRY(str_arg(ctx, "target"));
  auto [dir, name] = DK_TRY(open_parent(*m, path));
  if (::symlinkat(target.c_str(), dir.get(), name.c_str()) != 0) return errno_error("'" + path + "'");
  DK_TRY(set_owner(dir.get(), name, ctx));
  return lstat_at(dir.get(), name);
}

Result<json> op_unlink(Context& ctx) {
  GuestMount* m = DK_TRY(mount_arg(ctx));
  std::string path = DK_TRY(path_arg(ctx));
  auto [dir, name] = DK_TRY(open_parent(*m, path));
  if (::unlinkat(dir.get(), name.c_str(), 0) != 0) return errno_error("'" + path + "'");
  return json(nullptr);
}

Result<json> op_rmdir(Context& ctx) {
  GuestMount* m = DK_TRY(mount_arg(ctx));
  std::string path = DK_TRY(path_arg(ctx));
  auto [dir, name] = DK_TRY(open_parent(*m, path));
  if (::unlinkat(dir.get(), name.c_str(), AT_REMOVEDIR) != 0) return errno_error("'" + path + "'");
  return json(nullptr);
}

Result<json> op_rename(Context& ctx) {
  GuestMount* m = DK_TRY(mount_arg(ctx));
  std::string from = DK_TRY(path_arg(ctx));
  std::string to = DK_TRY(path_arg(ctx, "newpath"));
  auto [fdir, fname] = DK_TRY(open_parent(*m, from));
  auto [tdir, tname] = DK_TRY(open_parent(*m, to));
  if (::renameat(fdir.get(), fname.c_str(), tdir.get(), tname.c_str()) != 0) return errno_error("'" + from + "'");
  return json(nullptr);
}

Result<json> op_chmod(Context& ctx) {
  GuestMount* m = DK_TRY(mount_arg(ctx));
  std::string path = DK_TRY(path_arg(ctx));
  int64_t mode = DK_TRY(int_arg(ctx, "mode"));
  Fd fd = DK_TRY(open_in(*m, path, O_PATH));
  // chmod through /proc/self/fd: fchmod refuses O_PATH descriptors.
  std::string proc = "/proc/self/fd/" + std::to_string(fd.get());
  if (::chmod(proc.c_str(), static_cast<mode_t>(mode & 07777)) != 0) return errno_error("chmod '" + path + "'");
  return json(nullptr);
}

Result<json> op_chown(Context& ctx) {
  GuestMount* m = DK_TRY(mount_arg(ctx));
  std::string path = DK_TRY(path_arg(ctx));
  if (path.find_last_not_of('/') == std::string::npos) {
    auto uid = DK_TRY(opt_int(ctx, "uid"));
    auto gid = DK_TRY(opt_int(ctx, "gid"));
    if (::fchownat(m->root.get(), "", uid ? static_cast<uid_t>(*uid) : static_cast<uid_t>(-1),
                   gid ? static_cast<gid_t>(*gid) : static_cast<gid_t>(-1), AT_EMPTY_PATH) != 0)
      return errno_error("chown '/'");
    return json(nullptr);
  }
  auto [dir, name] = DK_TRY(open_parent(*m, path));
  DK_TRY(set_owner(dir.get(), name, ctx));
  return json(nullptr);
}

Result<json> op_truncate(Context& ctx) {
  GuestMount* m = DK_TRY(mount_arg(ctx));
  std::string path = DK_TRY(path_arg(ctx));
  int64_t size = DK_TRY(int_arg(ctx, "size"));
  if (size < 0) return make_error(EINVAL, "size must be >= 0");
  Fd fd = DK_TRY(open_in(*m, path, O_WRONLY));
  if (::ftruncate(fd.get(), size) != 0) return errno_error("truncate '" + path + "'");
  return json(nullptr);
}

Result<struct timespec> time_arg(Context& ctx, const char* name) {
  const json& a = ctx.args();
  auto it = a.find(name);
  struct timespec t {};
  t.tv_nsec = UTIME_OMIT;
  if (it == a.end() || it->is_null()) return t;
  if (!it->is_array() || it->size() != 2 || !(*it)[0].is_number_integer() || !(*it)[1].is_number_integer())
    return make_error(EINVAL, std::string("argument '") + name + "' must be [seconds, nanoseconds]");
  t.tv_sec = (*it)[0].get<int64_t>();
  t.tv_nsec = (*it)[1].get<int64_t>();
  if (t.tv_nsec < 0 || t.tv_nsec > 999999999) return make_error(EINVAL, "nanoseconds out of range");
  return t;
}

Result<json> op_utimens(Context& ctx) {
  GuestMount* m = DK_TRY(mount_arg(ctx));
  std::string path = DK_TRY(path_arg(ctx));
  struct timespec ts[2] = {DK_TRY(time_arg(ctx, "atime")), DK_TRY(time_arg(ctx, "mtime"))};
  if (path.find_last_not_of('/') == std::string::npos) {
    Fd fd = DK_TRY(open_in(*m, "/", O_RDONLY | O_DIRECTORY));
    if (::futimens(fd.get(), ts) != 0) return errno_error("utimens '/'");
    return json(nullptr);
  }
  auto [dir, name] = DK_TRY(open_parent(*m, path));
  if (::utimensat(dir.get(), name.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0) return errno_error("utimens '" + path + "'");
  return json(nullptr);
}

Result<json> op_statvfs(Context& ctx) {
  GuestMount* m = DK_TRY(mount_arg(ctx));
  Fd fd = DK_TRY(open_in(*m, "/", O_RDONLY | O_DIRECTORY));
  struct statvfs v {};
  if (::fstatvfs(fd.get(), &v) != 0) return errno_error("statvfs " + m->device);
  return json({{"bsize", v.f_bsize}, {"frsize", v.f_frsize}, {"blocks", v.f_blocks}, {"bfree", v.f_bfree},
               {"bavail", v.f_bavail}, {"files", v.f_files}, {"ffree", v.f_ffree}, {"favail", v.f_favail},
               {"fsid", v.f_fsid}, {"flag", v.f_flag}, {"namemax", v.f_namemax}});
}

Result<json> op_sync(Context& ctx) {
  GuestMount* m = DK_TRY(mount_arg(ctx));
  Fd fd = DK_TRY(open_in(*m, "/", O_RDONLY | O_DIRECTORY));
  if (::syncfs(fd.get()) != 0) return errno_error("sync " + m->device);
  return json(nullptr);
}

// fstrim and xfs_growfs work on a mounted file system.
Result<json> op_fstrim(Context& ctx) {
  GuestMount* m = DK_TRY(mount_arg(ctx));
  std::vector<std::string> argv = {"fstrim"};
  static const std::pair<const char*, const char*> kOpts[] = {
      {"offset", "-o"}, {"length", "-l"}, {"minimumfreeextent", "-m"}};
  for (auto& [name, flag] : kOpts)
    if (auto v = DK_TRY(opt_int(ctx, name))) {
      if (*v < 0) return make_error(EINVAL, std::string(name) + " must be >= 0");
      argv.insert(argv.end(), {flag, std::to_string(*v)});
    }
  argv.push_back(m->dir);
  DK_TRY(run_tool(ctx, argv, "fstrim: " + m->device));
  return json(nullptr);
}

Result<json> op_xfs_growfs(Context& ctx) {
  GuestMount* m = DK_TRY(mount_arg(ctx));
  std::vector<std::string> argv = {"xfs_growfs"};
  static const std::pair<const char*, const char*> kFlags[] = {{"datasec", "-d"}, {"logsec", "-l"}, {"rtsec", "-r"}};
  for (auto& [name, flag] : kFlags)
    if (DK_TRY(opt_bool(ctx, name)).value_or(false)) argv.push_back(flag);
  static const std::pair<const char*, const char*> kInts[] = {
      {"datasize", "-D"}, {"logsize", "-L"}, {"rtsize", "-R"}, {"rtextsize", "-e"}, {"maxpct", "-m"}};
  for (auto& [name, flag] : kInts)
    if (auto v = DK_TRY(opt_int(ctx, name))) argv.insert(argv.end(), {flag, std::to_string(*v)});
  argv.push_back(m->dir);
  DK_TRY(run_tool(ctx, argv, "xfs_growfs: " + m->device));
  return json(nullptr);
}

}  // namespace

DK_AGENT_OP("mount", op_mount);
DK_AGENT_OP("umount", op_umount);
DK_AGENT_OP("stat", op_stat);
DK_AGENT_OP("lstat", op_lstat);
DK_AGENT_OP("readdir", op_readdir);
DK_AGENT_OP("readlink", op_readlink);
DK_AGENT_OP("read", op_read);
DK_AGENT_OP("write", op_write);
DK_AGENT_OP("create", op_create);
DK_AGENT_OP("mkdir", op_mkdir);
DK_AGENT_OP("symlink", op_symlink);
DK_AGENT_OP("unlink", op_unlink);
DK_AGENT_OP("rmdir", op_rmdir);
DK_AGENT_OP("rename", op_rename);
DK_AGENT_OP("chmod", op_chmod);
DK_AGENT_OP("chown", op_chown);
DK_AGENT_OP("truncate", op_truncate);
DK_AGENT_OP("utimens", op_utimens);
DK_AGENT_OP("statvfs", op_statvfs);
DK_AGENT_OP("sync", op_sync);
DK_AGENT_OP("fstrim", op_fstrim);
DK_AGENT_OP("xfs-growfs", op_xfs_growfs);

}  // namespace dk::agent::ops
