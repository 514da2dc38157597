// Mounting: mount, mount-ro, mount-options, mount-vfs, umount, umount-all,
// mounts, mountpoints, sync, df, df-h.
#include <cinttypes>
#include <cstdio>

#include "tools/fish/output.h"
#include "tools/fish/shell.h"

namespace dk::tools::fish {
namespace {

// "ro" among comma-separated mount options.
bool options_say_ro(const std::string& opts) {
  size_t i = 0;
  while (i <= opts.size()) {
    size_t j = opts.find(',', i);
    if (j == std::string::npos) j = opts.size();
    if (opts.compare(i, j - i, "ro") == 0) return true;
    i = j + 1;
  }
  return false;
}

// Right-aligned cell of `width` characters.
std::string rpad(const std::string& s, size_t width) {
  return s.size() >= width ? s : std::string(width - s.size(), ' ') + s;
}

std::string lpad(const std::string& s, size_t width) {
  return s.size() >= width ? s : s + std::string(width - s.size(), ' ');
}

// coreutils df's table for the guest's mounts, as seen inside guestfish's
// appliance (mountpoints under /sysroot). Widths: at least 14 for the
// device, 5 for numbers, 4 for Use%; the last column is not padded.
Result<void> df(Shell& sh, bool human) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"Filesystem", human ? "Size" : "1K-blocks", "Used", human ? "Avail" : "Available", "Use%",
                  "Mounted on"});
  for (const auto& e : sh.mounts().entries()) {
    fs::StatVfs v = DK_TRY_CTX(e.fs->statvfs(), "'" + e.device + "'");
    uint64_t unit = v.frsize ? v.frsize : v.bsize;
    uint64_t total = v.blocks * unit, used = (v.blocks - std::min(v.bfree, v.blocks)) * unit,
             avail = v.bavail * unit;
    auto show = [&](uint64_t bytes) { return human ? human_ceiling(bytes) : std::to_string((bytes + 1023) / 1024); };
    std::string pct = "-";
    uint64_t denom = used + avail;
    if (denom) {
      uint64_t u100 = used * 100;
      pct = std::to_string(u100 / denom + (u100 % denom != 0)) + "%";
    }
    rows.push_back({e.device, show(total), show(used), show(avail), pct,
                    e.mountpoint == "/" ? "/sysroot" : "/sysroot" + e.mountpoint});
  }
  size_t w[5] = {14, 5, 5, 5, 4};
  for (auto& r : rows)
    for (size_t i = 0; i < 5; ++i) w[i] = std::max(w[i], r[i].size());
  std::string out;
  for (auto& r : rows) {
    out += lpad(r[0], w[0]);
    for (size_t i = 1; i < 5; ++i) out += " " + rpad(r[i], w[i]);
    out += " " + r[5] + "\n";
  }
  print_string(out);
  return {};
}

}  // namespace

void add_mount_commands(CommandTable& t) {
  t.add(make_command("mount", "mountable mountpoint", 2, Need::Launched,
                     "mount a guest disk at a position in the filesystem",
                     "Mounts the file system on the device at mountpoint (\"/\" first; other\n"
                     "mountpoints must be existing directories). It is read-write unless the disks\n"
                     "were added with --ro.",
                     [](Shell& sh, const Call& c) -> Result<void> { return sh.mount(c.args[0], c.args[1], false, ""); }));
  t.add(make_command("mount-ro", "mountable mountpoint", 2, Need::Launched, "mount a guest disk, read-only",
                     "Like mount, but the file system is opened read-only.",
                     [](Shell& sh, const Call& c) -> Result<void> { return sh.mount(c.args[0], c.args[1], true, "ro"); }));
  t.add(make_command("mount-options", "options mountable mountpoint", 3, Need::Launched,
                     "mount a guest disk with mount options",
                     "Like mount, with comma-separated mount options: \"ro\" mounts read-only, other\n"
                     "options are accepted and ignored.",
                     [](Shell& sh, const Call& c) -> Result<void> {
                       return sh.mount(c.args[1], c.args[2], options_say_ro(c.args[0]), c.args[0]);
                     }));
  t.add(make_command("mount-vfs", "options vfstype mountable mountpoint", 4, Need::Launched,
                     "mount a guest disk with mount options and vfstype",
                     "Like mount-options; the file system type is probed, vfstype is ignored.",
                     [](Shell& sh, const Call& c) -> Result<void> {
                       return sh.mount(c.args[2], c.args[3], options_say_ro(c.args[0]), c.args[0]);
                     }));
  FishCommand um = make_command("umount", "pathordevice", 1, Need::Launched, "unmount a filesystem",
                                "Unmounts the file system mounted at the path or from the device, after\n"
                                "writing every change to the disk image.",
                                [](Shell& sh, const Call& c) -> Result<void> { return sh.umount(c.args[0]); });
  um.aliases = {"unmount"};
  um.optargs = {{"force", OptKind::Bool}, {"lazyunmount", OptKind::Bool}};
  t.add(um);
  FishCommand ua = make_command("umount-all", "", 0, Need::Launched, "unmount all filesystems",
                                "Unmounts every mounted file system, after writing every change to the disk\n"
                                "images.",
                                [](Shell& sh, const Call&) -> Result<void> { return sh.umount_all(); });
  ua.aliases = {"unmount-all"};
  t.add(ua);
  t.add(make_command("mounts", "", 0, Need::Launched, "show mounted filesystems",
                     "Lists the devices that are mounted, in the order they were mounted.",
                     [](Shell& sh, const Call&) -> Result<void> {
                       for (const auto& r : sh.mount_records()) std::printf("%s\n", r.device.c_str());
                       return {};
                     }));
  t.add(make_command("mountpoints", "", 0, Need::Launched, "show mountpoints",
                     "Lists the mounted devices with their mountpoints (\"/dev/sda1: /\").",
                     [](Shell& sh, const Call&) -> Result<void> {
                       for (const auto& r : sh.mount_records())
                         std::printf("%s: %s\n", r.device.c_str(), r.mountpoint.c_str());
                       return {};
                     }));
  t.add(make_command("sync", "", 0, Need::Nothing, "sync disks, writes are flushed through to the disk image",
                     "Writes every change made so far to the disk images and flushes them. The\n"
                     "shell does this too when it exits and on umount/umount-all.",
                     [](Shell& sh, const Call&) -> Result<void> { return sh.sync(); }));
  t.add(make_command("df", "", 0, Need::Root, "report file system disk space usage",
                     "Prints df's table for the mounted file systems (mountpoints shown under\n"
                     "/sysroot, as in guestfish's appliance). For scripts, statvfs is better.",
                     [](Shell& sh, const Call&) -> Result<void> { return df(sh, false); }));
  t.add(make_command("df-h", "", 0, Need::Root, "report file system disk space usage (human readable)",
                     "Like df, with sizes such as 20M and 1.5G (rounded up, as df -h does).",
                     [](Shell& sh, const Call&) -> Result<void> { return df(sh, true); }));
}

}  // namespace dk::tools::fish
