#include "fs/inspect/distro.h"

#include <cstdio>
#include <string_view>

namespace dk::fs::inspect {
namespace {

bool one_of(const std::string& s, std::initializer_list<std::string_view> names) {
  for (auto n : names)
    if (s == n) return true;
  return false;
}

std::string printf_string(const char* fmt, const std::string& distro, int major, int minor) {
  char buf[128];
  std::snprintf(buf, sizeof buf, fmt, distro.c_str(), major, minor);
  return buf;
}

}  // namespace

std::optional<std::string> package_format_of(const std::optional<std::string>& distro) {
  if (!distro) return std::nullopt;
  const std::string& d = *distro;
  if (one_of(d, {"altlinux", "centos", "rocky", "fedora", "mageia", "mandriva", "meego", "neokylin",
                 "openmandriva", "opensuse", "oraclelinux", "redhat-based", "rhel", "scientificlinux",
                 "sles", "suse-based"}))
    return "rpm";
  if (one_of(d, {"debian", "kalilinux", "kylin", "linuxmint", "ubuntu"})) return "deb";
  if (d == "archlinux") return "pacman";
  if (d == "gentoo") return "ebuild";
  if (d == "pardus") return "pisi";
  if (d == "alpinelinux") return "apk";
  if (d == "voidlinux") return "xbps";
  return std::nullopt;
}

std::optional<std::string> package_management_of(const std::optional<std::string>& distro, int major,
                                                 bool has_dnf) {
  if (!distro) return std::nullopt;
  const std::string& d = *distro;
  if (d == "meego") return "yum";
  if (d == "fedora") {
    if (major >= 22 && has_dnf) return "dnf";
    if (major >= 1) return "yum";
    return std::nullopt;  // the release file could not be parsed
  }
  if (d == "neokylin" || d == "openmandriva") return "dnf";
  if (one_of(d, {"centos", "rocky", "oraclelinux", "redhat-based", "rhel", "scientificlinux"})) {
    if (major >= 8) return "dnf";
    if (major >= 5) return "yum";
    if (major >= 2) return "up2date";
    return std::nullopt;
  }
  if (one_of(d, {"altlinux", "debian", "kalilinux", "kylin", "linuxmint", "ubuntu"})) return "apt";
  if (d == "archlinux") return "pacman";
  if (d == "gentoo") return "portage";
  if (d == "pardus") return "pisi";
  if (d == "mageia" || d == "mandriva") return "urpmi";
  if (one_of(d, {"opensuse", "sles", "suse-based"})) return "zypper";
  if (d == "alpinelinux") return "apk";
  if (d == "voidlinux") return "xbps";
  return std::nullopt;
}

std::string osinfo_of(const std::string& type, const std::string& distro, int major, int minor) {
  if (type == "linux") {
    if (distro == "centos") {
      if (major >= 8) return printf_string("%s%d", distro, major, minor);
      if (major == 7) return printf_string("%s%d.0", distro, major, minor);
      if (major == 6) return printf_string("%s%d.%d", distro, major, minor);
    } else if (distro == "rocky") {
      if (major >= 8) return printf_string("%s%d", distro, major, minor);
    } else if (distro == "debian") {
      if (major >= 4) return printf_string("%s%d", distro, major, minor);
    } else if (distro == "fedora" || distro == "mageia") {
      return printf_string("%s%d", distro, major, minor);
    } else if (distro == "sles") {
      return printf_string(minor == 0 ? "%s%d" : "%s%dsp%d", distro, major, minor);
    } else if (distro == "ubuntu") {
      return printf_string("%s%d.%02d", distro, major, minor);
    } else if (distro == "archlinux" || distro == "gentoo" || distro == "voidlinux") {
      return distro;
    } else if (distro == "altlinux") {
      if (major >= 8) return "alt" + std::to_string(major) + "." + std::to_string(minor);
      return printf_string("%s%d.%d", distro, major, minor);
    }
    if (distro != "unknown" && (major > 0 || minor > 0)) return printf_string("%s%d.%d", distro, major, minor);
  }
  return "unknown";
}

}  // namespace dk::fs::inspect
