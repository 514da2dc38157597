// FUSE mounts of a guest: its file systems as one tree (guestmount), or
// its disks and partitions as raw files (a FUSE block export), and the
// matching unmount that waits until the image is flushed and closed.
#pragma once

#include <memory>
#include <functional>
#include <string>
#include <vector>

#include "formats/core/error.h"
#include "fs/disk.h"
#include "fs/mount.h"

namespace dk::fusefs {

struct ServeOptions {
  std::string mountpoint;                 // host directory
  bool read_only = false;                 // mount ro; every write is EROFS
  bool foreground = false;                // serve in this process (-f)
  std::vector<std::string> fuse_options;  // -o values, passed to libfuse
  std::string source;                     // shown as the mount's source (the first image)
  // Image files to hold a shared read lock on while mounted (read-only
  // guests are opened sharing the image, so the lock is taken here).
  std::vector<std::string> read_lock_paths;
  // The caller already forked (diskit mount forks before anything starts
  // threads: the appliance's NBD server and VM runner live in-process and
  // would not survive a fork): serve in this process as a daemon would
  // (errors to syslog, cwd /, stdio on /dev/null), calling on_ready once
  // the mount exists so the waiting parent can exit.
  bool detached = false;
  std::function<void()> on_ready;
};

// Mounts the file systems in `mounts` (over `guest`) at opts.mountpoint and
// serves them with a multi-threaded libfuse session. Unless foreground, the
// process forks once the mount exists: the parent returns 0 (the mount is
// ready), the child serves until unmounted, then flushes, closes the images
// and exits. Errors before the fork (bad mountpoint, FUSE options, the
// image lock) come back as a Result.
Result<int> serve_guest(std::unique_ptr<fs::Guest> guest, std::unique_ptr<fs::GuestMounts> mounts,
                        const ServeOptions& opts);

// Like serve_guest, but the mount holds one regular file per whole disk and
// partition ("sda", "sda1", ...), reading and writing the guest's bytes.
Result<int> serve_raw(std::unique_ptr<fs::Guest> guest, const ServeOptions& opts);

// Exit statuses of `diskit umount` (guestunmount's).
inline constexpr int kUnmountBusy = 2;        // still busy after retrying
inline constexpr int kUnmountNotMounted = 3;  // not a diskit mount

// Unmounts the diskit mount at `mountpoint` and waits until its serving
// process has flushed the images and exited. Returns the exit status for
// the conditions above after printing why; other failures are errors.
Result<int> unmount_and_wait(const std::string& mountpoint);

}  // namespace dk::fusefs
