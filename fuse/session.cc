// The mount, daemonize, serve, unmount and close sequence of diskit mount.
#include "fuse/session.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "formats/core/file.h"
#include "formats/core/lock.h"

namespace dk::fusefs {

Server::~Server() = default;

namespace {

bool g_foreground = true;

// FUSE's -o parser splits at ',' and treats '\' as an escape.
std::string escape_option(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == ',' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string unescape_mountinfo(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      const char* p = s.c_str() + i + 1;
      if (p[0] >= '0' && p[0] <= '3' && p[1] >= '0' && p[1] <= '7' && p[2] >= '0' && p[2] <= '7') {
        out += static_cast<char>((p[0] - '0') * 64 + (p[1] - '0') * 8 + (p[2] - '0'));
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

// Holds the run-time lock file of one mount: the serving process keeps an
// exclusive flock on it until it has closed the images; `diskit umount`
// waits for that lock.
class LockFile {
 public:
  ~LockFile() { release(); }
  Result<void> create(const std::string& canonical_mountpoint) {
    std::string dir = DK_TRY(runtime_dir());
    const MountInfo* found = nullptr;
    auto infos = read_mountinfo();
    for (const auto& m : infos)
      if (m.mountpoint == canonical_mountpoint && m.fstype == "fuse.diskit") found = &m;
    if (!found) return make_error(ENOENT, "'" + canonical_mountpoint + "': the new mount is not listed");
    m_major = found->major;
    m_minor = found->minor;
    m_path = lock_file_name(dir, found->major, found->minor);
    // A previous server of a connection with the same number may still be
    // exiting; it lets go soon, unlinking its file first. Holding the lock on
    // such an unlinked file would let `diskit umount` (which opens the path)
    // return before this server has closed its images: retry until the
    // locked file is the one at the path.
    for (int tries = 0;; ++tries) {
      m_fd = ::open(m_path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (m_fd < 0) return errno_error("'" + m_path + "'");
      if (flock(m_fd, LOCK_EX) != 0) return errno_error("'" + m_path + "': locking");
      struct stat held, now;
      if (::fstat(m_fd, &held) == 0 && ::stat(m_path.c_str(), &now) == 0 && held.st_ino == now.st_ino &&
          held.st_dev == now.st_dev)
        break;
      ::close(m_fd);
      m_fd = -1;
      if (tries == 100) return make_error(EAGAIN, "'" + m_path + "': keeps being replaced");
    }
    std::string pid = std::to_string(getpid()) + "\n";
    if (ftruncate(m_fd, 0) != 0 || pwrite(m_fd, pid.data(), pid.size(), 0) < 0) {}
    return {};
  }
  // After fork the child owns the description; the pid is rewritten.
  void update_pid() {
    if (m_fd < 0) return;
    std::string pid = std::to_string(getpid()) + "\n";
    if (ftruncate(m_fd, 0) != 0 || pwrite(m_fd, pid.data(), pid.size(), 0) < 0) {}
  }
  unsigned major() const { return m_major; }
  unsigned minor() const { return m_minor; }
  void release() {
    if (m_fd < 0) return;
    // Unlink first: a waiter that opened the file still sees the lock go.
    ::unlink(m_path.c_str());
    ::close(m_fd);
    m_fd = -1;
  }

 private:
  std::string m_path;
  int m_fd = -1;
  unsigned m_major = 0, m_minor = 0;
};

// The kernel caps a FUSE mount's read-ahead at the 128 KiB default, so a
// sequential read arrives as 128 KiB requests; 1 MiB requests halve the
// per-request cost. Raising it needs root; without, the default stays.
void raise_read_ahead(unsigned major, unsigned minor) {
  std::string path = "/sys/class/bdi/" + std::to_string(major) + ":" + std::to_string(minor) + "/read_ahead_kb";
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  if (::write(fd, "1024", 4) < 0) {}
  ::close(fd);
}

struct ArgList {
  std::vector<std::string> strings;
  std::vector<char*> argv;
  void add(std::string s) { strings.push_back(std::move(s)); }
  fuse_args make() {
    argv.clear();
    for (auto& s : strings) argv.push_back(s.data());
    argv.push_back(nullptr);
    return FUSE_ARGS_INIT(static_cast<int>(strings.size()), argv.data());
  }
};

Result<std::string> check_mountpoint(const std::string& mp) {
  struct stat st;
  if (::stat(mp.c_str(), &st) != 0) return errno_error("'" + mp + "'");
  if (!S_ISDIR(st.st_mode)) return make_error(ENOTDIR, "'" + mp + "': " + std::strerror(ENOTDIR));
  char buf[PATH_MAX];
  if (!::realpath(mp.c_str(), buf)) return errno_error("'" + mp + "'");
  return std::string(buf);
}

// Serves until unmounted or signalled; then unmounts and closes.
Result<int> serve(fuse_session* se, Server& server, LockFile& lock, std::vector<File>& read_locks) {
  fuse_loop_config* cfg = fuse_loop_cfg_create();
  fuse_loop_cfg_set_clone_fd(cfg, 0);
  fuse_loop_cfg_set_max_threads(cfg, 8);
  fuse_loop_cfg_set_idle_threads(cfg, 4);
  int rc = fuse_session_loop_mt(se, cfg);
  fuse_loop_cfg_destroy(cfg);
  fuse_remove_signal_handlers(se);
  fuse_session_unmount(se);
  fuse_session_destroy(se);  // runs the destroy callback (flush) if not yet run
  auto closed = server.close();
  read_locks.clear();
  lock.release();
  if (!closed) {
    log_error(closed.error().message);
    return make_error(closed.error());
  }
  return rc == 0 ? 0 : 1;
}

}  // namespace

std::vector<MountInfo> read_mountinfo() {
  std::vector<MountInfo> out;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string id, parent, devno, root, mp, opts, f;
    if (!(ls >> id >> parent >> devno >> root >> mp >> opts)) continue;
    while (ls >> f && f != "-") {}  // optional fields end at "-"
    std::string fstype;
    if (!(ls >> fstype)) continue;
    MountInfo m;
    if (std::sscanf(devno.c_str(), "%u:%u", &m.major, &m.minor) != 2) continue;
    m.mountpoint = unescape_mountinfo(mp);
    m.fstype = unescape_mountinfo(fstype);
    out.push_back(std::move(m));
  }
  return out;
}

Result<std::string> runtime_dir() {
  std::string dir;
  if (geteuid() == 0) {
    dir = "/run/diskit";
  } else if (const char* x = std::getenv("XDG_RUNTIME_DIR"); x && *x == '/') {
    dir = std::string(x) + "/diskit";
  } else {
    dir = "/tmp/diskit-" + std::to_string(geteuid());
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return errno_error("'" + dir + "'");
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) return errno_error("'" + dir + "'");
  // Somebody else's directory (or a link) in /tmp must not receive our files.
  if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid())
    return make_error(EPERM, "'" + dir + "': not a directory owned by this user");
  return dir;
}

std::string lock_file_name(const std::string& dir, unsigned major, unsigned minor) {
  return dir + "/mount-" + std::to_string(major) + "-" + std::to_string(minor);
}

void log_error(const std::string& msg) {
  if (g_foreground) std::fprintf(stderr, "diskit: mount: %s\n", msg.c_str());
  else syslog(LOG_ERR, "diskit: mount: %s", msg.c_str());
}

Result<int> run_session(Server& server, const ServeOptions& opts) {
  std::string mp = DK_TRY(check_mountpoint(opts.mountpoint));
  // Read-only guests open their images sharing them; a mount still must not
  // see them change under it, so it holds QEMU's shared read lock.
  std::vector<File> read_locks;
  for (const std::string& p : opts.read_lock_paths) {
    File f = DK_TRY(File::open(p, O_RDONLY));
    DK_TRY(lock_image(f, LockMode::kRead, false));
    read_locks.push_back(std::move(f));
  }
  ArgList args;
  args.add("diskit");
  args.add("-o");
  args.add("fsname=" + escape_option(opts.source) + ",subtype=diskit");
  if (opts.read_only) {
    args.add("-o");
    args.add("ro");
  }
  for (const std::string& o : opts.fuse_options) {
    args.add("-o");
    args.add(o);
  }
  fuse_args fa = args.make();
  fuse_session* se = fuse_session_new(&fa, &server.ops(), sizeof(fuse_lowlevel_ops), &server);
  fuse_opt_free_args(&fa);
  if (!se) return make_error(EINVAL, "could not set up the FUSE session (bad -o option?)");
  if (fuse_set_signal_handlers(se) != 0) {
    fuse_session_destroy(se);
    return make_error(EIO, "could not install signal handlers");
  }
  if (fuse_session_mount(se, mp.c_str()) != 0) {
    fuse_remove_signal_handlers(se);
    fuse_session_destroy(se);
    return make_error(EIO, "'" + mp + "': could not mount (is /dev/fuse usable and fusermount3 installed?)");
  }
  LockFile lock;
  if (auto r = lock.create(mp); !r) {
    fuse_session_unmount(se);
    fuse_remove_signal_handlers(se);
    fuse_session_destroy(se);
    return make_error(r.error().with_context("run-time lock file"));
  }
  raise_read_ahead(lock.major(), lock.minor());
  g_foreground = opts.foreground && !opts.detached;
  if (!g_foreground) openlog("diskit", LOG_PID, LOG_DAEMON);
  // The parent exits 0 inside fuse_daemonize once the child is set up: the
  // mount already exists, so requests wait for the child's loop.
  if (fuse_daemonize(opts.foreground || opts.detached ? 1 : 0) != 0) {
    fuse_session_unmount(se);
    fuse_remove_signal_handlers(se);
    fuse_session_destroy(se);
    return make_error(EIO, "could not start the serving process");
  }
  if (opts.detached) {
    if (::chdir("/") != 0) { /* a daemon's cwd; the mount works anyway */ }
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
      ::dup2(null, 0);
      ::dup2(null, 1);
      ::dup2(null, 2);
      ::close(null);
    }
  }
  if (opts.on_ready) opts.on_ready();
  lock.update_pid();
  return serve(se, server, lock, read_locks);
}

}  // namespace dk::fusefs
