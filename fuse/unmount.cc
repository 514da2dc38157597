// diskit umount: unmount a diskit mount and wait until its serving process
// has flushed and closed the images (it holds a flock on a run-time file
// until then; see session.cc).
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "fuse/session.h"

namespace dk::fusefs {
namespace {

// The absolute path of a mountpoint without touching the mounted file
// system itself (its server may be gone: stat would fail with ENOTCONN).
Result<std::string> canonical_mountpoint(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  char buf[PATH_MAX];
  struct stat st;
  size_t slash = path.find_last_of('/');
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  bool is_link = ::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
  if (is_link || base == "." || base == ".." || path == "/") {
    if (!::realpath(path.c_str(), buf)) return errno_error("'" + path + "'");
    return std::string(buf);
  }
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  if (!::realpath(dir.c_str(), buf)) return errno_error("'" + path + "'");
  std::string out = buf;
  if (out != "/") out += '/';
  return out + base;
}

// One unmount attempt; 0 or an errno value.
int unmount_once(const std::string& path) {
  if (geteuid() == 0) return ::umount2(path.c_str(), UMOUNT_NOFOLLOW) == 0 ? 0 : errno;
  pid_t pid = fork();
  if (pid < 0) return errno;
  if (pid == 0) {
    execlp("fusermount3", "fusermount3", "-u", "-q", "--", path.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) return ENOENT;  // no fusermount3
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : EBUSY;
}

}  // namespace

Result<int> unmount_and_wait(const std::string& mountpoint) {
  std::string path = DK_TRY(canonical_mountpoint(mountpoint));
  const MountInfo* found = nullptr;
  auto infos = read_mountinfo();
  for (const auto& m : infos)
    if (m.mountpoint == path) found = &m;
  if (!found || found->fstype != "fuse.diskit") {
    std::fprintf(stderr, "diskit: umount: '%s' is not a diskit mount%s\n", mountpoint.c_str(),
                 found ? (" (it is " + found->fstype + ")").c_str() : "");
    return kUnmountNotMounted;
  }
  int fd = -1;
  if (auto dir = runtime_dir(); dir)
    fd = ::open(lock_file_name(*dir, found->major, found->minor).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  // guestunmount's retries, with shorter waits: a shell that just left the
  // directory or a closing file keeps the mount busy for a moment.
  int err = 0;
  for (int attempt = 0, delay_ms = 100; attempt < 6; ++attempt, delay_ms *= 2) {
    err = unmount_once(path);
    if (err != EBUSY) break;
    if (attempt < 5) usleep(static_cast<useconds_t>(delay_ms) * 1000);
  }
  if (err) {
    if (fd >= 0) ::close(fd);
    if (err == ENOENT && geteuid() != 0) return make_error(ENOENT, "fusermount3 is not installed");
    std::fprintf(stderr, "diskit: umount: '%s': could not unmount: %s\n", mountpoint.c_str(),
                 std::strerror(err));
    return kUnmountBusy;
  }
  // The server holds an exclusive lock until the images are closed.
  if (fd >= 0) {
    while (flock(fd, LOCK_SH) != 0 && errno == EINTR) {}
    ::close(fd);
  }
  return 0;
}

}  // namespace dk::fusefs
