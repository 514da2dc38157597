// GuestMounts: explicit mounts, and the inspection-driven mounting the
// tools use without -m (fs/inspect finds the root and its fstab).
#include "fs/inspect/inspect.h"
#include "fs/mount.h"

namespace dk::fs {

Result<void> GuestMounts::mount(std::string_view device, std::string_view mountpoint,
                                const MountOptions& opts) {
  auto found = m_guest.find(device);
  if (!found && found.error().code == ENOENT && fallback_mounter()) {
    // Not one of the disks or their partitions: an LV or a mapping only
    // the appliance knows; it mounts it or declines.
    std::string mp = mountpoint.empty() ? "/" : std::string(mountpoint);
    if (mp[0] != '/') return make_error(EINVAL, "mountpoint '" + mp + "' is not an absolute path");
    if (split_path(mp).size() > 0) {
      auto dir = m_tree.resolve(mp, true);
      if (!dir) return make_error(dir.error().with_context("mount: mountpoint"));
      mp = dir->path;
    }
    auto fs = fallback_mounter()(m_guest, std::string(device), "", opts);
    if (!fs && fs.error().code == ENOTSUP) return make_error(found.error());
    if (!fs) return make_error(fs.error());
    DK_TRY(m_tree.mount(mp, **fs));
    m_entries.push_back({std::string(device), mp, std::move(*fs)});
    return {};
  }
  BlockDevice dev = DK_TRY(std::move(found));
  std::string mp = mountpoint.empty() ? "/" : std::string(mountpoint);
  if (mp[0] != '/') return make_error(EINVAL, "mountpoint '" + mp + "' is not an absolute path");
  if (split_path(mp).size() > 0) {
    auto dir = m_tree.resolve(mp, true);
    if (!dir) return make_error(dir.error().with_context("mount: mountpoint"));
    Stat st = DK_TRY(dir->inode->stat());
    if (st.type() != FileType::Directory)
      return make_error(ENOTDIR, "mount: mountpoint '" + mp + "' is not a directory");
    mp = dir->path;
  }
  std::unique_ptr<FileSystem> fs = DK_TRY(open_filesystem(m_guest, dev, opts));
  DK_TRY(m_tree.mount(mp, *fs));
  m_entries.push_back({dev.name, mp, std::move(fs)});
  return {};
}

Result<void> GuestMounts::flush_all() {
  Result<void> first = {};
  for (auto& e : m_entries) {
    auto r = e.fs->flush();
    if (!r && first) first = r;
  }
  return first;
}

bool is_linux_root(FileSystem& fs) {
  // libguestfs' rule, with lstat semantics: /etc a directory, /bin a
  // directory or the usr-merge link "usr/bin", /etc/fstab or /etc/hosts a
  // regular file.
  auto type_of = [&](const char* path) {
    auto ino = resolve(fs, path, false);
    if (!ino) return FileType::Unknown;
    auto st = (*ino)->stat();
    return st ? st->type() : FileType::Unknown;
  };
  auto bin_link = [&] {
    auto ino = resolve(fs, "/bin", false);
    if (!ino) return false;
    auto t = (*ino)->readlink();
    return t && *t == "usr/bin";
  };
  return type_of("/etc") == FileType::Directory &&
         (type_of("/bin") == FileType::Directory || (type_of("/bin") == FileType::Symlink && bin_link())) &&
         (type_of("/etc/fstab") == FileType::Regular || type_of("/etc/hosts") == FileType::Regular);
}

Result<void> GuestMounts::mount_inspected(const MountOptions& opts) {
  // What virt-cat / virt-ls -i do: inspect, require exactly one root, then
  // mount its fstab mountpoints, shortest first.
  InspectOptions io;
  io.warn = [](const std::string&) {};
  std::vector<OsInfo> roots = DK_TRY(inspect_os(m_guest, io));
  if (roots.empty())
    return make_error(ENOENT, "no operating system was found on this disk; use -m DEV[:MOUNTPOINT] "
                              "to mount a file system");
  if (roots.size() > 1)
    return make_error(ENOTSUP, "multi-boot operating systems are not supported (roots " + roots[0].root + " and " +
                                   roots[1].root + "); use -m DEV[:MOUNTPOINT] to choose");
  return mount_os(*this, roots[0], opts);
}

}  // namespace dk::fs
