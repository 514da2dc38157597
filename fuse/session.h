// Internal: the mount/serve/teardown sequence shared by the guest and raw
// servers, and the run-time lock file `diskit umount` waits on.
#pragma once

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <cerrno>
#include <string>
#include <vector>

#include "formats/core/error.h"
#include "fuse/serve.h"

namespace dk::fusefs {

// What a server hands to run_session.
class Server {
 public:
  virtual ~Server();
  virtual const fuse_lowlevel_ops& ops() const = 0;
  // Called once the session has ended (the destroy callback already
  // flushed): flushes again where needed and closes the images, so the
  // image lock is gone when this returns.
  virtual Result<void> close() = 0;
};

// Mounts, daemonizes (unless foreground), serves with a multi-threaded
// loop, unmounts and calls server.close(). In the background case the
// parent returns 0 once the mount exists; the child never returns (exits).
Result<int> run_session(Server& server, const ServeOptions& opts);

// The -errno a Result's error maps to for the kernel (EIO for nonsense).
inline int to_errno(const Error& e) { return e.code > 0 && e.code < 4096 ? e.code : EIO; }

// Directory for run-time lock files ("/run/diskit" as root, else
// $XDG_RUNTIME_DIR/diskit or /tmp/diskit-UID), created 0700 if needed.
Result<std::string> runtime_dir();
// The lock file of the FUSE connection with device number major:minor.
std::string lock_file_name(const std::string& dir, unsigned major, unsigned minor);

// One line of /proc/self/mountinfo (octal escapes undone).
struct MountInfo {
  unsigned major = 0, minor = 0;  // st_dev of the mount
  std::string mountpoint;
  std::string fstype;  // "fuse.diskit" for diskit's mounts
};
std::vector<MountInfo> read_mountinfo();

// Reports a failure of the serving process after it lost its terminal
// (stderr when foreground, else syslog).
void log_error(const std::string& msg);

}  // namespace dk::fusefs
