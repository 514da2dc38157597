// Facts that follow from the distro name alone (libguestfs 1.48's
// check_package_format / check_package_management / inspect-get-osinfo).
#pragma once

#include <optional>
#include <string>

namespace dk::fs::inspect {

// "deb", "rpm", "pacman", "ebuild", "pisi", "apk", "xbps"; nullopt for
// distros with none libguestfs knows (or no distro).
std::optional<std::string> package_format_of(const std::optional<std::string>& distro);

// "apt", "dnf", "yum", "up2date", "zypper", "urpmi", "pacman", "portage",
// "pisi", "apk", "xbps"; has_dnf: /usr/bin/dnf exists (Fedora >= 22).
std::optional<std::string> package_management_of(const std::optional<std::string>& distro, int major,
                                                 bool has_dnf);

// libosinfo's short id ("debian12", "fedora39", "ubuntu22.04", "rhel9.2")
// or "unknown".
std::string osinfo_of(const std::string& type, const std::string& distro, int major, int minor);

}  // namespace dk::fs::inspect
