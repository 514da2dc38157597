// list_applications (libguestfs' inspect-list-applications2 for Linux
// guests) and mount_os (the -i mounting of the virt tools).
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <set>

#include "fs/inspect/inspect.h"
#include "fs/inspect/parse.h"
#include "fs/inspect/rpmdb.h"

namespace dk::fs {
namespace {

// A whole guest file through the mounted tree, refusing more than max.
Result<std::string> read_guest_file(const Mounts& tree, const std::string& path, uint64_t max) {
  auto r = DK_TRY(tree.resolve(path, true));
  Stat st = DK_TRY_CTX(r.inode->stat(), "'" + path + "'");
  if (st.type() != FileType::Regular) return make_error(EINVAL, "'" + path + "' is not a regular file");
  if (st.size > max)
    return make_error(EFBIG, "'" + path + "' is " + std::to_string(st.size) + " bytes, more than the " +
                                 std::to_string(max) + " inspection reads");
  return DK_TRY_CTX(read_file(*r.inode, max), "'" + path + "'");
}

bool exists(const Mounts& tree, const std::string& path) { return tree.resolve(path, true).has_value(); }

Result<std::vector<Application>> list_rpm(const Mounts& tree) {
  for (const char* dir : {"/var/lib/rpm", "/usr/lib/sysimage/rpm"}) {
    std::string db = std::string(dir) + "/rpmdb.sqlite";
    if (!exists(tree, db)) continue;
    std::string bytes = DK_TRY(read_guest_file(tree, db, inspect::kMaxRpmdbSize));
    return inspect::read_rpmdb_sqlite(std::move(bytes), db);
  }
  for (const char* dir : {"/var/lib/rpm", "/usr/lib/sysimage/rpm"}) {
    std::string bdb = std::string(dir) + "/Packages", ndb = std::string(dir) + "/Packages.db";
    if (exists(tree, bdb))
      return make_error(ENOTSUP, "'" + bdb + "': BerkeleyDB rpm databases are not supported (only rpmdb.sqlite)");
    if (exists(tree, ndb))
      return make_error(ENOTSUP, "'" + ndb + "': NDB rpm databases are not supported (only rpmdb.sqlite)");
  }
  return make_error(ENOENT, "no rpm database found in /var/lib/rpm or /usr/lib/sysimage/rpm");
}

Result<std::vector<Application>> list_pacman(const Mounts& tree) {
  auto dir = DK_TRY(tree.resolve("/var/lib/pacman/local", true));
  auto entries = DK_TRY_CTX(dir.inode->readdir(), "'/var/lib/pacman/local'");
  std::vector<Application> apps;
  for (const DirEntry& e : entries) {
    if (e.type != FileType::Directory && e.type != FileType::Unknown) continue;
    // A desc file that is missing or larger than 8 KiB is a damaged
    // entry: skipped, as libguestfs does.
    auto text = read_guest_file(tree, "/var/lib/pacman/local/" + e.name + "/desc", inspect::kMaxPacmanDesc);
    if (!text) continue;
    if (auto app = inspect::parse_pacman_desc(*text)) apps.push_back(std::move(*app));
  }
  return apps;
}

// Shorter mountpoints first, then by name (virt tools' compare_keys_len).
bool mountpoint_before(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return a.size() < b.size();
  return a < b;
}

}  // namespace

Result<std::vector<Application>> list_applications(const Mounts& tree, const OsInfo& os) {
  std::vector<Application> apps;
  if (os.type == "linux" || os.type == "hurd") {
    if (os.package_format == "rpm") {
      apps = DK_TRY(list_rpm(tree));
    } else if (os.package_format == "deb") {
      std::string text = DK_TRY(read_guest_file(tree, "/var/lib/dpkg/status", inspect::kMaxDpkgStatus));
      apps = inspect::parse_dpkg_status(text);
    } else if (os.package_format == "pacman") {
      apps = DK_TRY(list_pacman(tree));
    } else if (os.package_format == "apk") {
      std::string text = DK_TRY(read_guest_file(tree, "/lib/apk/db/installed", inspect::kMaxApkInstalled));
      apps = inspect::parse_apk_installed(text);
    }
  }
  std::stable_sort(apps.begin(), apps.end(), [](const Application& a, const Application& b) {
    return std::strcmp(a.name.c_str(), b.name.c_str()) < 0;
  });
  return apps;
}

Result<std::vector<Application>> list_applications(Guest& guest, const OsInfo& os) {
  GuestMounts mounts(guest);
  MountOptions ro;
  ro.warn = [](const std::string&) {};
  DK_TRY(mount_os(mounts, os, ro));
  return list_applications(mounts.tree(), os);
}

Result<void> mount_os(GuestMounts& mounts, const OsInfo& os, const MountOptions& opts) {
  auto mps = os.mountpoints;
  std::stable_sort(mps.begin(), mps.end(), [](const auto& a, const auto& b) { return mountpoint_before(a.first, b.first); });
  bool has_root = !mps.empty() && mps[0].first == "/";
  // A guest whose fstab does not name "/" still has its root there.
  if (!has_root) mps.insert(mps.begin(), {"/", os.root});
  size_t errors = 0;
  std::set<std::string> done;
  for (auto& [mp, dev] : mps) {
    if (!done.insert(mp).second) continue;  // a second fstab line for one mountpoint
    auto r = mounts.mount(dev, mp, opts);
    if (r) continue;
    // "/" must mount; any other failure is counted and reported once.
    if (mp == "/") return make_error(r.error().with_context("mounting the root file system"));
    ++errors;
  }
  if (errors) {
    std::string msg = "some filesystems could not be mounted (ignored)";
    if (opts.warn) opts.warn(msg);
    else std::fprintf(stderr, "diskit: warning: %s\n", msg.c_str());
  }
  return {};
}

}  // namespace dk::fs
