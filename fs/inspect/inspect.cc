// inspect_os: libguestfs 1.48's inspection (daemon/inspect*.ml) over the
// native file systems. Every file system diskit can open is opened
// read-only and classified (grub /boot, Linux root, Linux /usr, other);
// roots get their release files, architecture, hostname and fstab read;
// a separate /usr named in a root's fstab fills what the root lacks.
#include "fs/inspect/inspect.h"

#include <algorithm>
#include <map>

#include "fs/inspect/distro.h"
#include "fs/inspect/fstab.h"
#include "fs/inspect/parse.h"
#include "fs/mount.h"
#include "fs/probe.h"

namespace dk::fs {
namespace {

using inspect::ReleaseData;
using inspect::ReleasePattern;

// ---- File tests on one file system (libguestfs' Is.is_dir/is_file) ----

std::optional<Stat> stat_of(FileSystem& fs, std::string_view path, bool follow) {
  auto ino = resolve(fs, path, follow);
  if (!ino) return std::nullopt;
  auto st = (*ino)->stat();
  if (!st) return std::nullopt;
  return *st;
}

bool is_dir(FileSystem& fs, std::string_view path, bool follow = false) {
  auto st = stat_of(fs, path, follow);
  return st && st->type() == FileType::Directory;
}

bool is_file(FileSystem& fs, std::string_view path, bool follow = false) {
  auto st = stat_of(fs, path, follow);
  return st && st->type() == FileType::Regular;
}

bool is_symlink_to(FileSystem& fs, std::string_view path, std::string_view target) {
  auto ino = resolve(fs, path, false);
  if (!ino) return false;
  auto st = (*ino)->stat();
  if (!st || st->type() != FileType::Symlink) return false;
  auto t = (*ino)->readlink();
  return t && *t == target;
}

// A regular file (symlinks followed) of at most max bytes; nullopt when it
// is missing, not regular, too large or unreadable (libguestfs'
// read_small_file, which skips such files rather than failing).
std::optional<std::string> read_small(FileSystem& fs, std::string_view path,
                                      uint64_t max = inspect::kMaxSmallFile) {
  auto ino = resolve(fs, path, true);
  if (!ino) return std::nullopt;
  auto st = (*ino)->stat();
  if (!st || st->type() != FileType::Regular || st->size > max) return std::nullopt;
  auto text = read_file(**ino, max);
  if (!text) return std::nullopt;
  return std::move(*text);
}

// ---- What one file system holds ----

enum class Role { Other, Root, Usr };

struct FsData {
  std::optional<std::string> os_type;
  ReleaseData rel;
  std::optional<std::string> arch, hostname, package_format, package_management;
  std::vector<std::pair<std::string, std::string>> fstab;  // (device, mountpoint)
};

struct Found {
  std::string device;
  Role role = Role::Other;
  FsData data;
};

// One release-file test: the file, how to parse it.
struct ReleaseTest {
  const char* path;
  const char* distro;  // nullptr: a special parser
  ReleasePattern pattern;
  const char* prefix;
};

// libguestfs' linux_root_tests, in its order (first true wins).
constexpr ReleaseTest kLinuxTests[] = {
    {"/etc/os-release", nullptr, ReleasePattern::None, "os-release"},
    {"/etc/lsb-release", nullptr, ReleasePattern::None, "lsb-release"},
    {"/etc/openmandriva-release", "openmandriva", ReleasePattern::MajorMinor, "OpenMandriva"},
    {"/etc/oracle-release", "oraclelinux", ReleasePattern::Old, "Oracle Linux"},
    {"/etc/oracle-release", "oraclelinux", ReleasePattern::MajorMinor, "Oracle Linux"},
    {"/etc/oracle-release", "oraclelinux", ReleasePattern::MajorOnly, "Oracle Linux"},
    {"/etc/centos-release", "centos", ReleasePattern::Old, "CentOS"},
    {"/etc/centos-release", "centos", ReleasePattern::MajorMinor, "CentOS"},
    {"/etc/centos-release", "centos", ReleasePattern::MajorOnly, "CentOS"},
    {"/etc/rocky-release", "rocky", ReleasePattern::MajorMinor, "Rocky Linux"},
    {"/etc/rocky-release", "rocky", ReleasePattern::MajorOnly, "Rocky Linux"},
    {"/etc/altlinux-release", "altlinux", ReleasePattern::None, ""},
    {"/etc/redhat-release", "fedora", ReleasePattern::Fedora, ""},
    {"/etc/redhat-release", "rhel", ReleasePattern::Old, "Red Hat"},
    {"/etc/redhat-release", "rhel", ReleasePattern::MajorMinor, "Red Hat"},
    {"/etc/redhat-release", "rhel", ReleasePattern::MajorOnly, "Red Hat"},
    {"/etc/redhat-release", "centos", ReleasePattern::Old, "CentOS"},
    {"/etc/redhat-release", "centos", ReleasePattern::MajorMinor, "CentOS"},
    {"/etc/redhat-release", "centos", ReleasePattern::MajorOnly, "CentOS"},
    {"/etc/redhat-release", "rocky", ReleasePattern::MajorMinor, "Rocky Linux"},
    {"/etc/redhat-release", "rocky", ReleasePattern::MajorOnly, "Rocky Linux"},
    {"/etc/redhat-release", "scientificlinux", ReleasePattern::Old, "Scientific Linux"},
    {"/etc/redhat-release", "scientificlinux", ReleasePattern::MajorMinor, "Scientific Linux"},
    {"/etc/redhat-release", "scientificlinux", ReleasePattern::MajorOnly, "Scientific Linux"},
    {"/etc/redhat-release", "redhat-based", ReleasePattern::None, ""},
    {"/etc/redhat-release", nullptr, ReleasePattern::None, "redhat-based"},
    {"/etc/debian_version", "debian", ReleasePattern::None, ""},
    {"/etc/pardus-release", "pardus", ReleasePattern::None, ""},
    {"/etc/arch-release", nullptr, ReleasePattern::None, "archlinux"},
    {"/etc/gentoo-release", "gentoo", ReleasePattern::None, ""},
    {"/etc/meego-release", "meego", ReleasePattern::None, ""},
    {"/etc/slackware-version", "slackware", ReleasePattern::None, ""},
    {"/etc/ttylinux-target", "ttylinux", ReleasePattern::None, ""},
    {"/etc/SuSE-release", nullptr, ReleasePattern::None, "SuSE-release"},
    {"/etc/SuSE-release", nullptr, ReleasePattern::None, "suse-based"},
    {"/etc/cirros/version", "cirros", ReleasePattern::None, ""},
    {"/etc/br-version", nullptr, ReleasePattern::None, "br-version"},
    {"/etc/alpine-release", "alpinelinux", ReleasePattern::None, ""},
    {"/etc/frugalware-release", "frugalware", ReleasePattern::Frugalware, ""},
    {"/etc/pld-release", "pldlinux", ReleasePattern::Pld, ""},
};

bool run_release_test(FileSystem& fs, const ReleaseTest& t, ReleaseData& d) {
  std::string_view special = t.distro ? "" : t.prefix;
  if (special == "redhat-based" || special == "archlinux" || special == "suse-based") {
    d.distro = std::string(special);  // the file exists: that alone says it
    return true;
  }
  auto text = read_small(fs, t.path);
  if (!text) return false;
  if (special == "os-release") return inspect::parse_os_release(*text, d);
  if (special == "lsb-release") return inspect::parse_lsb_release(*text, d);
  if (special == "SuSE-release") return inspect::parse_suse_release(*text, d);
  std::string distro = t.distro ? t.distro : "";
  if (special == "br-version")
    distro = is_file(fs, "/usr/share/cirros/logo", true) ? "cirros" : "buildroot";
  return inspect::parse_generic_release(inspect::first_line(*text), distro, t.pattern, t.prefix, d);
}

// libguestfs' arch_binaries, in order; the first that is an ELF file wins.
std::optional<std::string> check_architecture(FileSystem& fs) {
  for (const char* bin : {"/bin/bash", "/bin/ls", "/bin/echo", "/bin/rm", "/bin/sh"}) {
    if (!is_file(fs, bin, true)) continue;
    auto ino = resolve(fs, bin, true);
    if (!ino) continue;
    std::byte head[64] = {};
    auto n = (*ino)->read(0, head);
    if (!n) continue;
    std::string arch = inspect::elf_arch(std::span<const std::byte>(head, *n));
    if (!arch.empty()) return arch;
  }
  return std::nullopt;
}

std::optional<std::string> check_hostname(FileSystem& fs) {
  for (const char* f : {"/etc/HOSTNAME", "/etc/hostname"})
    if (auto text = read_small(fs, f))
      if (auto h = inspect::parse_hostname_file(*text)) return h;
  if (is_file(fs, "/etc/sysconfig/network"))
    if (auto text = read_small(fs, "/etc/sysconfig/network", inspect::kMaxConfigFile))
      return inspect::parse_sysconfig_hostname(*text);
  return std::nullopt;
}

void set_packages(FileSystem& fs, FsData& d) {
  d.package_format = inspect::package_format_of(d.rel.distro);
  int major = d.rel.version ? d.rel.version->first : 0;
  bool has_dnf = d.rel.distro == "fedora" && major >= 22 && is_file(fs, "/usr/bin/dnf", true);
  d.package_management = inspect::package_management_of(d.rel.distro, major, has_dnf);
}

// check_filesystem: the role of one mounted file system and its data.
Role check_filesystem(FileSystem& fs, const inspect::DeviceResolver& resolver, const std::string& device,
                      FsData& d) {
  Role role = Role::Other;
  if (is_file(fs, "/grub/menu.lst") || is_file(fs, "/grub/grub.conf") || is_file(fs, "/grub2/grub.cfg")) {
    // A grub /boot: not a root even if it looks like one.
  } else if (is_dir(fs, "/etc") && (is_dir(fs, "/bin") || is_symlink_to(fs, "/bin", "usr/bin")) &&
             (is_file(fs, "/etc/fstab") || is_file(fs, "/etc/hosts"))) {
    role = Role::Root;
    d.os_type = "linux";
    for (const ReleaseTest& t : kLinuxTests)
      if (is_file(fs, t.path, true) && run_release_test(fs, t, d.rel)) break;
    d.arch = check_architecture(fs);
    if (auto text = read_small(fs, "/etc/fstab", inspect::kMaxConfigFile))
      d.fstab = resolver.resolve_fstab(inspect::parse_fstab(*text), device);
    d.hostname = check_hostname(fs);
  } else if (is_dir(fs, "/bin") && is_dir(fs, "/local") && is_dir(fs, "/share") && is_dir(fs, "/src") &&
             !is_file(fs, "/etc/fstab")) {
    role = Role::Usr;  // a Linux /usr
    d.os_type = "linux";
    if (auto text = is_file(fs, "/lib/os-release", true) ? read_small(fs, "/lib/os-release") : std::nullopt)
      (void)inspect::parse_os_release(*text, d.rel);
    if (auto arch = check_architecture(fs)) d.arch = arch;
  }
  set_packages(fs, d);
  return role;
}

// merge_inspection_data: fields the root lacks come from its /usr.
void merge_usr(const FsData& usr, FsData& root) {
  auto merge = [](const auto& child, auto& parent) {
    if (!parent) parent = child;
  };
  merge(usr.os_type, root.os_type);
  merge(usr.rel.distro, root.rel.distro);
  merge(usr.package_format, root.package_format);
  merge(usr.package_management, root.package_management);
  merge(usr.rel.product_name, root.rel.product_name);
  merge(usr.rel.version, root.rel.version);
  merge(usr.arch, root.arch);
  merge(usr.hostname, root.hostname);
  root.fstab.insert(root.fstab.begin(), usr.fstab.begin(), usr.fstab.end());
}

OsInfo to_os_info(const Found& f, const inspect::DeviceResolver& resolver) {
  OsInfo os;
  const FsData& d = f.data;
  os.root = f.device;
  os.type = d.os_type.value_or("unknown");
  os.distro = d.rel.distro.value_or("unknown");
  os.product_name = d.rel.product_name.value_or("unknown");
  if (d.rel.version) {
    os.major_version = d.rel.version->first;
    os.minor_version = d.rel.version->second;
  }
  os.arch = d.arch.value_or("unknown");
  os.hostname = d.hostname.value_or("unknown");
  os.package_format = d.package_format.value_or("unknown");
  os.package_management = d.package_management.value_or("unknown");
  for (std::string* f : {&os.distro, &os.product_name, &os.arch, &os.hostname}) inspect::cut_at_nul(*f);
  os.osinfo = inspect::osinfo_of(os.type, os.distro, os.major_version, os.minor_version);
  // inspect-get-mountpoints / inspect-get-filesystems.
  if (d.fstab.empty()) {
    os.mountpoints.emplace_back("/", f.device);
    os.filesystems.push_back(resolver.describe(f.device));
  } else {
    for (auto [dev, mp] : d.fstab) {
      inspect::cut_at_nul(dev);
      inspect::cut_at_nul(mp);
      if (!mp.empty() && mp[0] == '/') os.mountpoints.emplace_back(mp, dev);
      os.filesystems.push_back(resolver.describe(dev));
    }
  }
  return os;
}

}  // namespace

Result<std::vector<OsInfo>> inspect_os(Guest& guest, const InspectOptions& opts) {
  inspect::DeviceResolver resolver = DK_TRY(inspect::DeviceResolver::probe(guest));
  // LVs, through the appliance when one is registered (fs/mount.h).
  const bool has_pv = std::any_of(resolver.candidates().begin(), resolver.candidates().end(),
                                  [](const auto& c) { return c.probe.type == "LVM2_member"; });
  if (auto extra = extra_devices(guest, has_pv); extra) {
    for (const ExtraDevice& e : *extra) resolver.add_remote(e.name, e.probe);
  } else if (opts.warn) {
    opts.warn(extra.error().message);
  }
  std::vector<Found> found;
  for (const auto& c : resolver.candidates()) {
    // What no native driver reads is tried when a fallback mounter (the
    // appliance) may read it.
    const bool remote = resolver.is_remote(c.dev.name);
    if (!can_mount(c.probe.type)) continue;
    MountOptions ro;
    ro.warn = [](const std::string&) {};  // a replayed journal is said again when it is mounted
    if (remote && !fallback_mounter()) continue;
    auto fs = remote ? fallback_mounter()(guest, c.dev.name, "", ro) : open_filesystem(guest, c.dev, ro);
    if (!fs) {
      if (opts.warn) opts.warn(fs.error().message);
      continue;
    }
    Found f;
    f.device = c.dev.name;
    f.role = check_filesystem(**fs, resolver, c.dev.name, f.data);
    if (f.role != Role::Other) found.push_back(std::move(f));
  }
  std::vector<OsInfo> roots;
  for (Found& root : found) {
    if (root.role != Role::Root) continue;
    // collect_linux_inspection_info: a /usr that the root's fstab names.
    for (const Found& usr : found) {
      if (usr.role != Role::Usr) continue;
      bool named = std::any_of(root.data.fstab.begin(), root.data.fstab.end(),
                               [&](const auto& e) { return e.first == usr.device; });
      if (named) {
        merge_usr(usr.data, root.data);
        break;
      }
    }
    roots.push_back(to_os_info(root, resolver));
  }
  return roots;
}

}  // namespace dk::fs
