// diskit mount: guestmount without a VM — a guest's file systems (or, with
// --raw, its disks and partitions as raw files) mounted on the host with FUSE.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "fs/mount.h"
#include "fuse/serve.h"
#include "tools/command.h"
#include "tools/guest_args.h"

namespace dk::tools {
namespace {

struct MountCmdOptions {
  GuestOptions guest;
  bool inspector = false;
  bool read_only = false;
  bool read_write = false;  // guestmount's -w: the default
  bool foreground = false;
  bool raw = false;
  std::vector<std::string> fuse_options;
  std::string mountpoint;
};

// Opens one -m DEV[:MOUNTPOINT[:OPTIONS[:FSTYPE]]] (options and type are
// accepted and ignored). A file system that cannot be written (ISO 9660, an
// ext journal that needs recovery) is mounted read-only with a warning.
Result<void> mount_one(fs::GuestMounts& mounts, const std::string& spec, bool writable) {
  size_t colon = spec.find(':');
  std::string dev = spec.substr(0, colon);
  std::string mp = "/";
  if (colon != std::string::npos) {
    std::string rest = spec.substr(colon + 1);
    mp = rest.substr(0, rest.find(':'));
    if (mp.empty()) mp = "/";
  }
  fs::MountOptions mo;
  mo.writable = writable;
  auto r = mounts.mount(dev, mp, mo);
  if (r || !writable || r.error().code != EROFS) return r;
  std::fprintf(stderr, "diskit: mount: warning: %s; mounting '%s' read-only\n", r.error().message.c_str(),
               dev.c_str());
  mo.writable = false;
  return mounts.mount(dev, mp, mo);
}

std::string absolute(const std::string& p) {
  char buf[PATH_MAX];
  return ::realpath(p.c_str(), buf) ? std::string(buf) : p;
}

// Forks before the guest is opened: the appliance (for xfs, btrfs, LVM)
// runs its NBD server and VM runner on threads of this process, which a
// fork after start-up would leave behind. The parent waits until the child
// serves (exit 0) or fails (the child has printed why; its status is the
// parent's), like guestmount returning once the mount is ready.
// Returns the parent's exit status, or nullopt in the child, with
// *ready_fd the pipe to signal readiness on.
Result<std::optional<int>> fork_server(int* ready_fd) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return errno_error("pipe");
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return errno_error("fork");
  if (pid == 0) {
    ::close(p[0]);
    ::setsid();
    *ready_fd = p[1];
    return std::optional<int>();
  }
  ::close(p[1]);
  char c = 0;
  ssize_t n;
  while ((n = ::read(p[0], &c, 1)) < 0 && errno == EINTR) {
  }
  ::close(p[0]);
  if (n == 1) return std::optional<int>(0);
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return std::optional<int>(WIFEXITED(st) && WEXITSTATUS(st) != 0 ? WEXITSTATUS(st) : 1);
}

Result<int> run_mount(const CLI::App& app, MountCmdOptions& o) {
  if (o.raw && (o.inspector || !o.guest.mounts.empty()))
    return make_error(EINVAL, "--raw exports whole disks and cannot be used with -m or -i");
  if (!o.raw && !o.inspector && o.guest.mounts.empty())
    return make_error(EINVAL, "must have at least one -a and at least one -m/-i option");
  if (o.read_only && o.read_write) return make_error(EINVAL, "--ro and --rw cannot be used together");
  const bool writable = !o.read_only;
  fusefs::ServeOptions so;
  so.mountpoint = o.mountpoint;
  so.read_only = o.read_only;
  so.foreground = o.foreground;
  so.fuse_options = o.fuse_options;
  so.source = absolute(o.guest.images.front());
  if (o.read_only)
    for (const std::string& img : o.guest.images) so.read_lock_paths.push_back(img);
  if (!o.foreground) {
    int ready = -1;
    if (auto code = DK_TRY(fork_server(&ready)); code) {
      // The parent: the child reported; errors were printed there.
      std::fflush(nullptr);
      ::_exit(*code);
    }
    so.detached = true;
    so.on_ready = [ready] {
      (void)!::write(ready, "1", 1);
      ::close(ready);
    };
  }
  auto guest = DK_TRY(open_guest(app, o.guest, writable));
  if (o.raw) return fusefs::serve_raw(std::move(guest), so);
  auto mounts = std::make_unique<fs::GuestMounts>(*guest);
  if (o.inspector) {
    fs::MountOptions mo;
    mo.writable = writable;
    DK_TRY(mounts->mount_inspected(mo));
  }
  for (const std::string& m : o.guest.mounts) DK_TRY(mount_one(*mounts, m, writable));
  return fusefs::serve_guest(std::move(guest), std::move(mounts), so);
}

}  // namespace

Command add_mount(CLI::App& parent) {
  auto o = std::make_shared<MountCmdOptions>();
  Command c;
  c.app = parent.add_subcommand("mount", "Mount a guest's file systems (or its disks with --raw) with FUSE");
  add_guest_options(*c.app, o->guest, true);
  c.app->add_flag("-i,--inspector", o->inspector, "Mount the guest's root and what its /etc/fstab names");
  c.app->add_flag("-r,--ro", o->read_only, "Mount read-only (the images are not changed)");
  c.app->add_flag("-w,--rw", o->read_write, "Mount read-write (the default)");
  c.app->add_flag("-f,--foreground,--no-fork", o->foreground, "Serve in the foreground until unmounted");
  c.app->add_flag("--raw", o->raw, "Export each disk and partition as a raw file (sda, sda1, ...)");
  c.app->add_option("-o,--option", o->fuse_options, "Pass a mount option to FUSE (allow_other, ...)")
      ->allow_extra_args(false);
  c.app->add_option("mountpoint", o->mountpoint, "Host directory to mount on")->required();
  c.run = [o, app = c.app]() -> Result<int> { return run_mount(*app, *o); };
  return c;
}

}  // namespace dk::tools
