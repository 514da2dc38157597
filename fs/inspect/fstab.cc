// fstab device resolution (see fstab.h). libguestfs 1.48 resolves UUID=,
// LABEL=, /dev/root, /dev/[hsv]dXN, /dev/xvdXN and /dev/disk/by-id/*-partN;
// PARTUUID=, PARTLABEL= and the other /dev/disk/by-* links are resolved
// here too, since modern installers write them.
#include "fs/inspect/fstab.h"

#include <algorithm>
#include <cctype>

namespace dk::fs::inspect {
namespace {

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

bool eq_nocase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return std::tolower(x) == std::tolower(y); });
}

// udev's \xHH escapes in /dev/disk/by-label names.
std::string decode_udev(std::string_view s) {
  std::string out;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    c = static_cast<char>(std::tolower(c));
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] == 'x' && hex(s[i + 2]) >= 0 && hex(s[i + 3]) >= 0) {
      out += static_cast<char>(hex(s[i + 2]) * 16 + hex(s[i + 3]));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

// Linux's disk letters to an index: a=0 ... z=25, aa=26 ...; -1 when absurd.
long drive_index(std::string_view letters) {
  long i = 0;
  for (char c : letters) {
    if (c < 'a' || c > 'z' || i > 1000000) return -1;
    i = i * 26 + (c - 'a' + 1);
  }
  return i - 1;
}

}  // namespace

Result<DeviceResolver> DeviceResolver::probe(Guest& guest) {
  std::vector<std::string> disks;
  for (auto& d : guest.devices()) disks.push_back(d.name);
  std::vector<PartInfo> parts;
  for (auto& p : guest.partitions())
    if (p.part) parts.push_back({p.name, p.part->part_uuid, p.part->name});
  std::vector<Candidate> cands;
  for (auto& d : guest.filesystem_candidates()) {
    if (d.part && d.part->extended) continue;
    auto layer = DK_TRY(guest.open_device(d));
    ProbeResult p = DK_TRY_CTX(probe_filesystem(*layer), "'" + d.name + "'");
    BlockDevice copy = d;
    copy.part = nullptr;
    cands.push_back({copy, std::move(p)});
  }
  return DeviceResolver(std::move(disks), std::move(parts), std::move(cands));
}

void DeviceResolver::add_remote(const std::string& name, const ProbeResult& probe) {
  BlockDevice d;
  d.name = name;
  m_cands.push_back({d, probe});
  m_remote.push_back(name);
}

bool DeviceResolver::is_remote(const std::string& name) const {
  return std::find(m_remote.begin(), m_remote.end(), name) != m_remote.end();
}

std::optional<std::string> DeviceResolver::find_uuid(std::string_view uuid) const {
  if (uuid.empty()) return std::nullopt;
  for (auto& c : m_cands)
    if (c.probe.found() && eq_nocase(c.probe.uuid, uuid)) return c.dev.name;
  return std::nullopt;
}

std::optional<std::string> DeviceResolver::find_label(std::string_view label) const {
  if (label.empty()) return std::nullopt;
  for (auto& c : m_cands)
    if (c.probe.found() && c.probe.label == label) return c.dev.name;
  return std::nullopt;
}

std::optional<std::string> DeviceResolver::find_partition(std::string_view value, bool label) const {
  if (value.empty()) return std::nullopt;
  for (auto& p : m_parts)
    if (label ? p.part_label == value : eq_nocase(p.part_uuid, value)) return p.name;
  return std::nullopt;
}

bool DeviceResolver::is_partition(std::string_view name) const {
  return std::any_of(m_parts.begin(), m_parts.end(), [&](const PartInfo& p) { return p.name == name; });
}

// /dev/... names (libguestfs' resolve_fstab_device).
std::optional<std::string> DeviceResolver::resolve_dev(std::string_view spec) const {
  std::string fallback(spec);
  // /dev/(h|s|v|xv)d([a-z]+)(\d*): the same disk by -a order.
  std::string_view rest = spec.substr(5);
  size_t tlen = starts_with(rest, "xvd") ? 3 : (rest.size() >= 2 && rest[1] == 'd' &&
                                                 (rest[0] == 'h' || rest[0] == 's' || rest[0] == 'v'))
                                                    ? 2
                                                    : 0;
  if (tlen) {
    std::string_view tail = rest.substr(tlen);
    size_t l = 0;
    while (l < tail.size() && tail[l] >= 'a' && tail[l] <= 'z') ++l;
    size_t d = l;
    while (d < tail.size() && tail[d] >= '0' && tail[d] <= '9') ++d;
    if (l > 0 && d == tail.size()) {
      long i = drive_index(tail.substr(0, l));
      if (i >= 0 && static_cast<size_t>(i) < m_disks.size()) {
        std::string dev = m_disks[i] + std::string(tail.substr(l));
        if (is_partition(dev)) return dev;
      }
      return fallback;
    }
  }
  // /dev/mapper/VG-LV (device-mapper doubles a '-' inside either name):
  // the LV's /dev/VG/LV name when the appliance reported that LV.
  constexpr std::string_view kMapper = "/dev/mapper/";
  if (starts_with(spec, kMapper)) {
    std::string_view n = spec.substr(kMapper.size());
    std::string vg, lv;
    bool in_lv = false, ok = true;
    for (size_t i = 0; i < n.size(); ++i) {
      if (n[i] == '-' && i + 1 < n.size() && n[i + 1] == '-') {
        (in_lv ? lv : vg) += '-';
        ++i;
      } else if (n[i] == '-') {
        if (in_lv) ok = false;
        in_lv = true;
      } else {
        (in_lv ? lv : vg) += n[i];
      }
    }
    std::string canon = "/dev/" + vg + "/" + lv;
    if (ok && in_lv && !vg.empty() && !lv.empty() && is_remote(canon)) return canon;
    return fallback;
  }
  constexpr std::string_view kById = "/dev/disk/by-id/";
  if (starts_with(spec, kById)) {
    // ".*-part(\d+)$" with a single disk: /dev/sdaN.
    size_t p = spec.rfind("-part");
    if (p != std::string_view::npos && p + 5 < spec.size() &&
        std::all_of(spec.begin() + p + 5, spec.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
        m_disks.size() == 1) {
      std::string dev = m_disks[0] + std::string(spec.substr(p + 5));
      if (is_partition(dev)) return dev;
    }
    return fallback;
  }
  for (auto [prefix, kind] : {std::pair{"/dev/disk/by-uuid/", 0}, {"/dev/disk/by-label/", 1},
                              {"/dev/disk/by-partuuid/", 2}, {"/dev/disk/by-partlabel/", 3}}) {
    if (!starts_with(spec, prefix)) continue;
    std::string v = decode_udev(spec.substr(std::string_view(prefix).size()));
    std::optional<std::string> dev = kind == 0   ? find_uuid(v)
                                     : kind == 1 ? find_label(v)
                                                 : find_partition(v, kind == 3);
    return dev ? *dev : fallback;
  }
  return fallback;
}

std::optional<std::string> DeviceResolver::resolve_spec(std::string_view spec,
                                                        const std::string& root_device) const {
  auto tag = [&](std::string_view key) -> std::optional<std::string> {
    if (!starts_with(spec, key)) return std::nullopt;
    return shell_unquote(spec.substr(key.size()));
  };
  if (auto v = tag("UUID=")) return find_uuid(*v);
  if (auto v = tag("LABEL=")) return find_label(*v);
  if (auto v = tag("PARTUUID=")) return find_partition(*v, false);
  if (auto v = tag("PARTLABEL=")) return find_partition(*v, true);
  if (spec == "/dev/root") return root_device;
  if (starts_with(spec, "/dev/")) return resolve_dev(spec);
  return std::nullopt;  // tmpfs, proc, none, /.swap ...
}

std::vector<std::pair<std::string, std::string>> DeviceResolver::resolve_fstab(
    const std::vector<FstabEntry>& entries, const std::string& root_device) const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const FstabEntry& e : entries) {
    const std::string& s = e.spec;
    auto digit_at = [&](size_t i) { return s.size() > i && s[i] >= '0' && s[i] <= '9'; };
    // Floppies and CD-ROMs (RHBZ#642929).
    if ((starts_with(s, "/dev/fd") && digit_at(7)) || (starts_with(s, "/dev/cd") && digit_at(7)) ||
        s == "/dev/floppy" || s == "/dev/cdrom" || starts_with(s, "/dev/iso9660/"))
      continue;
    std::string mp = canonical_path(e.file);
    auto under = [&](std::string_view dir) { return mp == dir || starts_with(mp, std::string(dir) + "/"); };
    if (under("/dev") || starts_with(mp, "/media/") || under("/proc") || under("/selinux") || under("/sys"))
      continue;
    auto dev = resolve_spec(s, root_device);
    if (!dev) continue;
    out.emplace_back(std::move(*dev), std::move(mp));
  }
  return out;
}

InspectedFilesystem DeviceResolver::describe(const std::string& device) const {
  InspectedFilesystem f;
  f.device = device;
  for (auto& c : m_cands)
    if (c.dev.name == device) {
      f.type = c.probe.type;
      f.label = c.probe.label;
      f.uuid = c.probe.uuid;
    }
  return f;
}

}  // namespace dk::fs::inspect
