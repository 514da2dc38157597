// The guest-file parsers of inspection, as pure functions over text so
// they can be unit-tested and fuzzed without a disk: os-release,
// lsb-release and the other release files, fstab, dpkg status, pacman
// desc, apk installed, and the ELF header's architecture.
//
// The input is hostile: every parser is linear in its input, keeps no
// recursion, and never throws (numbers that do not fit an int are treated
// as not matching, as a version no distribution uses).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fs/inspect/inspect.h"

namespace dk::fs::inspect {

// Size caps for guest files (libguestfs' own where it has one).
inline constexpr uint64_t kMaxSmallFile = 2 * 1048 * 1024;  // is_small_file
inline constexpr uint64_t kMaxConfigFile = 100 * 1000;      // files handed to Augeas
inline constexpr uint64_t kMaxDpkgStatus = 50 * 1000 * 1000;
inline constexpr uint64_t kMaxApkInstalled = 50 * 1000 * 1000;
inline constexpr uint64_t kMaxPacmanDesc = 8192;

// Splits at '\n' as OCaml's String.nsplit does ("a\n" gives "a", "").
std::vector<std::string_view> split_lines(std::string_view text);

// Shell-style unquoting of a value: '...' literally, "..." with \$ \` \"
// \\ and \<newline> escapes; anything else unchanged.
std::string shell_unquote(std::string_view s);
// Strips one pair of matching '' or "" quotes.
std::string simple_unquote(std::string_view s);

// KEY=VALUE lines (blank and '#' lines skipped; a line without '=' is
// skipped), the value passed through `unquote`.
std::vector<std::pair<std::string, std::string>> parse_key_values(std::string_view text,
                                                                  bool shell_quotes);

// What the release-file tests learn; nullopt = not set (libguestfs' None).
struct ReleaseData {
  std::optional<std::string> distro;  // libguestfs' distro name: "debian", "alpinelinux", ...
  std::optional<std::string> product_name;
  std::optional<std::pair<int, int>> version;
};

// "(\d+)\.(\d+)" anywhere, else "(\d+)" anywhere: (major, minor).
std::optional<std::pair<int, int>> version_from_major_minor(std::string_view s);

// /etc/os-release. Returns libguestfs' verdict: true when the result is
// final, false to go on with the next release file (no ID/PRETTY_NAME, no
// VERSION_ID, or a Debian/CentOS/Rocky VERSION_ID without a minor).
bool parse_os_release(std::string_view text, ReleaseData& d);
// /etc/lsb-release: true when DISTRIB_ID was known or DISTRIB_DESCRIPTION set.
bool parse_lsb_release(std::string_view text, ReleaseData& d);
// /etc/SuSE-release.
bool parse_suse_release(std::string_view text, ReleaseData& d);

// The version pattern of a generic release file (libguestfs' ~rex).
enum class ReleasePattern {
  None,            // best effort version_from_major_minor, never fails
  Fedora,          // "Fedora release (\d+)"
  Old,             // "<P>.*release (\d+).*Update (\d+)"
  MajorMinor,      // "<P>.*release (\d+)\.(\d+)"
  MajorOnly,       // "<P>.*release (\d+)"
  Frugalware,      // "Frugalware (\d+)\.(\d+)"
  Pld,             // "(\d+)\.(\d+) PLD Linux"
};
// A release file whose first line is the product name (libguestfs'
// parse_generic). `prefix` is <P> above ("Red Hat", "CentOS", ...).
bool parse_generic_release(std::string_view first_line, const std::string& distro,
                           ReleasePattern pattern, std::string_view prefix, ReleaseData& d);

// The first line of a file (up to '\n', without it).
std::string_view first_line(std::string_view text);

// The hostname in /etc/hostname or /etc/HOSTNAME: the first line that is
// neither empty nor a '#' comment; nullopt when none.
std::optional<std::string> parse_hostname_file(std::string_view text);
// HOSTNAME=... in /etc/sysconfig/network.
std::optional<std::string> parse_sysconfig_hostname(std::string_view text);

// One fstab line with at least spec, file and vfstype. Fields are kept as
// written except for \040-style octal escapes, which are decoded.
struct FstabEntry {
  std::string spec;
  std::string file;
  std::string vfstype;
  std::string options;
};
// Every well-formed line; comments, blank and short lines are skipped.
std::vector<FstabEntry> parse_fstab(std::string_view text);
// "///usr//local//" -> "/usr/local"; relative paths stay relative.
std::string canonical_path(std::string_view path);

// /var/lib/dpkg/status: the packages whose Status' state word is
// "installed" (so "install ok installed" and "hold ok installed", not
// half-installed, config-files or not-installed). Version is split into
// epoch (before the first ':'), version and release (after the last '-').
// Homepage, Source (name only) and Description (first line = summary,
// the continuation lines = description) are kept as libguestfs keeps them.
std::vector<Application> parse_dpkg_status(std::string_view text);
// One /var/lib/pacman/local/*/desc file; nullopt when a mandatory field
// (NAME, VERSION with a release, ARCH) is missing.
std::optional<Application> parse_pacman_desc(std::string_view text);
// /lib/apk/db/installed.
std::vector<Application> parse_apk_installed(std::string_view text);

// The architecture libguestfs names for the ELF header at the start of
// `head` ("x86_64", "i386", "aarch64", "ppc64le", "riscv64", ...); empty
// when it is no ELF executable, shared object or relocatable file.
std::string elf_arch(std::span<const std::byte> head);

}  // namespace dk::fs::inspect
