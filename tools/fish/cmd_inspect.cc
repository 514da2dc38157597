// Inspection: inspect-os, inspect-get-*, inspect-list-applications2
// (fs/inspect does the work; the results are kept between calls).
#include <cstdio>

#include "tools/fish/inspect_mount.h"
#include "tools/fish/inspect_state.h"
#include "tools/fish/output.h"

namespace dk::tools::fish {
namespace {

Result<const fs::OsInfo*> os_of(Shell& sh, const std::string& root) {
  auto dev = sh.guest().find(root);
  std::string name = dev ? dev->name : root;
  if (auto* st = sh.inspect_state())
    for (const fs::OsInfo& os : st->oses)
      if (os.root == name) return &os;
  return make_error(EINVAL, root + ": root device not found: only call this function with a root device "
                                   "previously returned by inspect-os");
}

FishCommand get_string(const char* name, const char* summary, std::string fs::OsInfo::*field) {
  return make_command(name, "root", 1, Need::Launched, summary,
                      "Prints what inspect-os found for the root (\"unknown\" when it could not tell).",
                      [field](Shell& sh, const Call& c) -> Result<void> {
                        print_string(DK_TRY(os_of(sh, c.args[0]))->*field);
                        return {};
                      });
}

FishCommand get_int(const char* name, const char* summary, int fs::OsInfo::*field) {
  return make_command(name, "root", 1, Need::Launched, summary,
                      "Prints what inspect-os found for the root (0 when it could not tell).",
                      [field](Shell& sh, const Call& c) -> Result<void> {
                        print_int(DK_TRY(os_of(sh, c.args[0]))->*field);
                        return {};
                      });
}

Result<void> list_applications2(Shell& sh, const std::string& root) {
  const fs::OsInfo* os = DK_TRY(os_of(sh, root));
  // Read through the shell's mounts when this OS is what is mounted on /
  // (guestfish's way); otherwise fs/inspect mounts it read-only itself.
  bool mounted = false;
  for (const auto& r : sh.mount_records())
    if (r.mountpoint == "/" && r.device == os->root) mounted = true;
  std::vector<fs::Application> apps =
      mounted ? DK_TRY(fs::list_applications(sh.mounts().tree(), *os)) : DK_TRY(fs::list_applications(sh.guest(), *os));
  std::vector<Fields> list;
  for (const fs::Application& a : apps)
    list.push_back({{"app2_name", a.name},
                    {"app2_display_name", a.display_name},
                    {"app2_epoch", std::to_string(a.epoch)},
                    {"app2_version", a.version},
                    {"app2_release", a.release},
                    {"app2_arch", a.arch},
                    {"app2_install_path", a.install_path},
                    {"app2_trans_path", a.trans_path},
                    {"app2_publisher", a.publisher},
                    {"app2_url", a.url},
                    {"app2_source_package", a.source_package},
                    {"app2_summary", a.summary},
                    {"app2_description", a.description},
                    {"app2_spare1", a.spare1},
                    {"app2_spare2", a.spare2},
                    {"app2_spare3", a.spare3},
                    {"app2_spare4", a.spare4}});
  print_struct_list(list);
  return {};
}

}  // namespace

void add_inspect_commands(CommandTable& t) {
  t.add(make_command("inspect-os", "", 0, Need::Launched, "inspect disk and return list of operating systems found",
                     "Looks for operating system roots on every file system diskit can read (opened\n"
                     "read-only) and prints their devices. Like guestfish, it unmounts everything\n"
                     "first. The inspect-get-* commands then answer for a root.",
                     [](Shell& sh, const Call&) -> Result<void> {
                       // libguestfs unmounts everything around inspection.
                       DK_TRY(sh.umount_all());
                       for (const fs::OsInfo& os : DK_TRY(inspect(sh))) std::printf("%s\n", os.root.c_str());
                       return {};
                     }));
  t.add(make_command("inspect-get-roots", "", 0, Need::Launched,
                     "return list of operating systems found by last inspection",
                     "Prints the roots the last inspect-os found (nothing before it).",
                     [](Shell& sh, const Call&) -> Result<void> {
                       if (auto* st = sh.inspect_state())
                         for (const fs::OsInfo& os : st->oses) std::printf("%s\n", os.root.c_str());
                       return {};
                     }));
  t.add(get_string("inspect-get-type", "get type of inspected operating system", &fs::OsInfo::type));
  t.add(get_string("inspect-get-distro", "get distro of inspected operating system", &fs::OsInfo::distro));
  t.add(get_string("inspect-get-product-name", "get product name of inspected operating system",
                   &fs::OsInfo::product_name));
  t.add(get_string("inspect-get-product-variant", "get product variant of inspected operating system",
                   &fs::OsInfo::product_variant));
  t.add(get_int("inspect-get-major-version", "get major version of inspected operating system",
                &fs::OsInfo::major_version));
  t.add(get_int("inspect-get-minor-version", "get minor version of inspected operating system",
                &fs::OsInfo::minor_version));
  t.add(get_string("inspect-get-arch", "get architecture of inspected operating system", &fs::OsInfo::arch));
  t.add(get_string("inspect-get-hostname", "get hostname of the operating system", &fs::OsInfo::hostname));
  t.add(get_string("inspect-get-package-format", "get package format used by the operating system",
                   &fs::OsInfo::package_format));
  t.add(get_string("inspect-get-package-management", "get package management tool used by the operating system",
                   &fs::OsInfo::package_management));
  t.add(get_string("inspect-get-osinfo", "get a possible osinfo short ID corresponding to this operating system",
                   &fs::OsInfo::osinfo));
  t.add(make_command("inspect-get-format", "root", 1, Need::Launched, "get format of inspected operating system",
                     "Prints \"installed\" (install discs are not recognised).",
                     [](Shell& sh, const Call& c) -> Result<void> {
                       DK_TRY(os_of(sh, c.args[0]));
                       print_string("installed");
                       return {};
                     }));
  t.add(make_command("inspect-get-mountpoints", "root", 1, Need::Launched,
                     "get mountpoints of inspected operating system",
                     "Prints the guest's fstab as \"mountpoint: device\" lines, for the devices\n"
                     "that are on the guest's disks.",
                     [](Shell& sh, const Call& c) -> Result<void> {
                       print_table(DK_TRY(os_of(sh, c.args[0]))->mountpoints);
                       return {};
                     }));
  t.add(make_command("inspect-get-filesystems", "root", 1, Need::Launched,
                     "get filesystems associated with inspected operating system",
                     "Prints the devices of the file systems the operating system uses.",
                     [](Shell& sh, const Call& c) -> Result<void> {
                       for (const auto& f : DK_TRY(os_of(sh, c.args[0]))->filesystems)
                         std::printf("%s\n", f.device.c_str());
                       return {};
                     }));
  t.add(make_command("inspect-list-applications2", "root", 1, Need::Launched,
                     "get list of applications installed in the operating system",
                     "Prints the installed packages (dpkg, rpm's sqlite database, pacman, apk) as\n"
                     "application2 structures, sorted by name.",
                     [](Shell& sh, const Call& c) { return list_applications2(sh, c.args[0]); }));
}

}  // namespace dk::tools::fish
