#include "appliance/agent/devices.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace dk::agent {
namespace {

struct Parsed {
  std::string letters;  // "a", "ab"
  std::string part;     // "" or "1"
};

// "/dev/sda1" -> {a, 1}; false for anything that is not /dev/{s,v,h}d<letters>[digits].
bool parse_name(std::string_view name, std::string_view* prefix_out, Parsed* p) {
  if (name.substr(0, 5) != "/dev/") return false;
  name.remove_prefix(5);
  if (name.size() < 3 || name[1] != 'd' || (name[0] != 's' && name[0] != 'v' && name[0] != 'h')) return false;
  if (prefix_out) *prefix_out = name.substr(0, 2);
  name.remove_prefix(2);
  size_t i = 0;
  while (i < name.size() && name[i] >= 'a' && name[i] <= 'z') ++i;
  if (i == 0 || i > 3) return false;
  size_t j = i;
  while (j < name.size() && std::isdigit(static_cast<unsigned char>(name[j]))) ++j;
  if (j != name.size() || j - i > 4 || (j > i && name[i] == '0')) return false;
  p->letters.assign(name.substr(0, i));
  p->part.assign(name.substr(i));
  return true;
}

bool is_block(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISBLK(st.st_mode);
}

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') out.emplace_back(e->d_name);
    ::closedir(d);
  }
  return out;
}

// "a" for 0, "z" for 25, "aa" for 26: the kernel's disk letters.
std::string letters_of(size_t n) {
  std::string s;
  do {
    s.insert(s.begin(), static_cast<char>('a' + n % 26));
    n /= 26;
  } while (n-- > 0);
  return s;
}

std::string read_line(const std::string& path) {
  std::string out;
  if (FILE* f = std::fopen(path.c_str(), "re")) {
    char buf[256];
    if (std::fgets(buf, sizeof buf, f)) out = buf;
    std::fclose(f);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// The guest's virtio disks as (guest name "vdb", user name "sda"). A disk
// the host hot-plugged carries serial "dk<N>": it is the user's disk N,
// whatever order the guest probed it in; a disk without one keeps its
// letters (vdb is sdb).
std::vector<std::pair<std::string, std::string>> guest_disks(const std::string& sys_block) {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& n : list_dir(sys_block)) {
    if (n.size() < 3 || n.compare(0, 2, "vd") != 0) continue;
    std::string user = "sd" + n.substr(2);
    std::string serial = read_line(sys_block + "/" + n + "/serial");
    if (serial.size() > 2 && serial.size() < 7 && serial.compare(0, 2, "dk") == 0 &&
        std::all_of(serial.begin() + 2, serial.end(), [](char c) { return c >= '0' && c <= '9'; }))
      user = "sd" + letters_of(std::stoul(serial.substr(2)));
    out.emplace_back(n, user);
  }
  return out;
}

// Sorts "sda2" before "sda10".
bool part_less(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return a.size() < b.size();
  return a < b;
}

}  // namespace

bool disk_name_less(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return a.size() < b.size();
  return a < b;
}

DeviceMap DeviceMap::guest(std::string sys_block, std::string dev) {
  DeviceMap m;
  m.m_guest = true;
  m.m_sys_block = std::move(sys_block);
  m.m_dev = std::move(dev);
  return m;
}

DeviceMap DeviceMap::host() { return DeviceMap(); }

void DeviceMap::add(const std::string& user_disk, const std::string& path) { m_host[user_disk] = path; }

Result<std::string> DeviceMap::to_guest(std::string_view user) const {
  Parsed p;
  if (!parse_name(user, nullptr, &p))
    return make_error(ENOENT, "'" + std::string(user) + "' is not a device name (/dev/sda, /dev/sda1, ...)");
  std::string path;
  if (m_guest) {
    for (const auto& [guest, user_disk] : guest_disks(m_sys_block))
      if (user_disk == "sd" + p.letters) path = m_dev + "/" + guest + p.part;
    if (path.empty()) return make_error(ENOENT, "'" + std::string(user) + "': no such device");
  } else {
    auto it = m_host.find("sd" + p.letters);
    if (it == m_host.end()) return make_error(ENOENT, "'" + std::string(user) + "': no such device");
    path = it->second;
    if (p.part.empty()) return path;
    // A block device's partitions (/dev/loop0p1); a plain file has none.
    path += (std::isdigit(static_cast<unsigned char>(path.back())) ? "p" : "") + p.part;
  }
  if (!is_block(path)) return make_error(ENOENT, "'" + std::string(user) + "': no such device");
  return path;
}

std::string DeviceMap::to_user(std::string_view guest) const {
  if (!m_guest) {
    for (const auto& [user, path] : m_host) {
      if (guest == path) return "/dev/" + user;
      if (guest.size() > path.size() && guest.substr(0, path.size()) == path) {
        std::string_view rest = guest.substr(path.size());
        if (!rest.empty() && rest[0] == 'p') rest.remove_prefix(1);
        if (!rest.empty() && std::all_of(rest.begin(), rest.end(), [](char c) { return c >= '0' && c <= '9'; }))
          return "/dev/" + user + std::string(rest);
      }
    }
    return std::string(guest);
  }
  std::string_view prefix;
  Parsed p;
  if (!parse_name(guest, &prefix, &p) || prefix != "vd") return std::string(guest);
  for (const auto& [g, user_disk] : guest_disks(m_sys_block))
    if (g == "vd" + p.letters) return "/dev/" + user_disk + p.part;
  return "/dev/sd" + p.letters + p.part;  // not attached (any more): same letters
}

std::vector<std::string> DeviceMap::disks() const {
  std::vector<std::string> out;
  if (!m_guest) {
    for (const auto& [user, path] : m_host) out.push_back(user);
  } else {
    for (auto& d : guest_disks(m_sys_block)) out.push_back(d.second);
  }
  std::sort(out.begin(), out.end(), disk_name_less);
  for (auto& n : out) n = "/dev/" + n;
  return out;
}

std::vector<std::string> DeviceMap::partitions() const {
  std::vector<std::string> out;
  if (!m_guest) return out;  // files have no partitions
  auto gd = guest_disks(m_sys_block);
  std::sort(gd.begin(), gd.end(), [](const auto& a, const auto& b) { return disk_name_less(a.second, b.second); });
  for (const auto& [vd, user_disk] : gd) {
    std::vector<std::string> parts;
    for (auto& n : list_dir(m_sys_block + "/" + vd))
      if (n.size() > vd.size() && n.compare(0, vd.size(), vd) == 0 &&
          std::isdigit(static_cast<unsigned char>(n[vd.size()])))
        parts.push_back(n.substr(vd.size()));
    std::sort(parts.begin(), parts.end(), part_less);
    for (auto& n : parts) out.push_back("/dev/" + user_disk + n);
  }
  return out;
}

}  // namespace dk::agent
