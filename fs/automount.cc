// GuestMounts: explicit mounts, and the Linux-root-plus-fstab mounting the
// tools use without -m (a first step; full inspection builds on it).
#include <algorithm>
#include <cstring>
#include <sstream>

#include "fs/mount.h"

namespace dk::fs {

Result<void> GuestMounts::mount(std::string_view device, std::string_view mountpoint,
                                const MountOptions& opts) {
  BlockDevice dev = DK_TRY(m_guest.find(device));
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

namespace {

bool exists_as(FileSystem& fs, const char* path, bool follow, FileType a, FileType b) {
  auto ino = resolve(fs, path, follow);
  if (!ino) return false;
  auto st = (*ino)->stat();
  return st && (st->type() == a || st->type() == b);
}

std::string unescape_fstab(const std::string& s) {
  // fstab escapes spaces and tabs as \040 and \011.
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    auto oct = [&](size_t k) { return k < s.size() && s[k] >= '0' && s[k] <= '7'; };
    if (s[i] == '\\' && oct(i + 1) && oct(i + 2) && oct(i + 3)) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8) & 0xff);
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The device an fstab spec names, or empty.
std::string device_for_spec(Guest& guest, const std::string& spec) {
  auto eq_ci = [](std::string a, std::string b) {
    std::transform(a.begin(), a.end(), a.begin(), ::tolower);
    std::transform(b.begin(), b.end(), b.begin(), ::tolower);
    return a == b;
  };
  auto value = [&](const char* key) -> std::string {
    size_t n = std::strlen(key);
    if (spec.compare(0, n, key) != 0) return {};
    std::string v = spec.substr(n);
    if (v.size() >= 2 && (v[0] == '"' || v[0] == '\'') && v.back() == v[0]) v = v.substr(1, v.size() - 2);
    return v;
  };
  std::string uuid = value("UUID="), label = value("LABEL="), partuuid = value("PARTUUID=");
  if (spec.compare(0, 5, "/dev/") == 0) {
    auto d = guest.find(spec);
    return d ? d->name : std::string();
  }
  if (!partuuid.empty()) {
    for (auto& p : guest.partitions())
      if (p.part && eq_ci(p.part->part_uuid, partuuid)) return p.name;
    return {};
  }
  if (uuid.empty() && label.empty()) return {};
  for (auto& c : guest.filesystem_candidates()) {
    auto layer = guest.open_device(c);
    if (!layer) continue;
    auto pr = probe_filesystem(**layer);
    if (!pr || !pr->found()) continue;
    if ((!uuid.empty() && eq_ci(pr->uuid, uuid)) || (!label.empty() && pr->label == label)) return c.name;
  }
  return {};
}

}  // namespace

bool is_linux_root(FileSystem& fs) {
  return exists_as(fs, "/etc", true, FileType::Directory, FileType::Directory) &&
         exists_as(fs, "/bin", false, FileType::Directory, FileType::Symlink) &&
         (exists_as(fs, "/etc/fstab", true, FileType::Regular, FileType::Regular) ||
          exists_as(fs, "/etc/hosts", true, FileType::Regular, FileType::Regular));
}

Result<void> GuestMounts::mount_inspected(const MountOptions& opts) {
  std::string root_dev;
  for (auto& c : m_guest.filesystem_candidates()) {
    auto layer = m_guest.open_device(c);
    if (!layer) continue;
    auto pr = probe_filesystem(**layer);
    if (!pr || !pr->found() || !can_open(pr->type)) continue;
    MountOptions ro;
    ro.warn = [](const std::string&) {};  // warnings come again when it is mounted for real
    auto fs = open_filesystem(m_guest, c, ro);
    if (fs && is_linux_root(**fs)) {
      root_dev = c.name;
      break;
    }
  }
  if (root_dev.empty())
    return make_error(ENOENT, "no operating system was found on this disk; use -m DEV[:MOUNTPOINT] "
                              "to mount a file system");
  DK_TRY(mount(root_dev, "/", opts));
  auto fstab_ino = resolve(*m_entries[0].fs, "/etc/fstab", true);
  if (!fstab_ino) return {};
  auto text = read_file(**fstab_ino, 1u << 20);
  if (!text) return {};
  struct Line { std::string dev, mp; };
  std::vector<Line> lines;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string spec, mp, type;
    if (!(f >> spec >> mp >> type) || spec[0] == '#') continue;
    mp = unescape_fstab(mp);
    if (mp.empty() || mp[0] != '/' || split_path(mp).empty() || type == "swap") continue;
    std::string dev = device_for_spec(m_guest, unescape_fstab(spec));
    if (!dev.empty() && dev != root_dev) lines.push_back({dev, mp});
  }
  // Shorter mountpoints first, so /boot is mounted before /boot/efi.
  std::stable_sort(lines.begin(), lines.end(), [](const Line& a, const Line& b) {
    return split_path(a.mp).size() < split_path(b.mp).size();
  });
  for (auto& l : lines) {
    auto d = m_guest.find(l.dev);
    if (!d) continue;
    auto layer = m_guest.open_device(*d);
    if (!layer) continue;
    auto pr = probe_filesystem(**layer);
    if (!pr || !can_open(pr->type)) continue;  // e.g. a vfat /boot/efi until FAT lands
    (void)mount(l.dev, l.mp, opts);             // a bad fstab line is skipped, as libguestfs does
  }
  return {};
}

}  // namespace dk::fs
