// Fuzz target: the release-file parsers of inspection (os-release,
// lsb-release, SuSE-release, the generic first-line patterns), hostname
// files and the version and ELF helpers, over arbitrary text.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "fs/inspect/distro.h"
#include "fs/inspect/parse.h"

using namespace dk::fs::inspect;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  ReleaseData d;
  (void)parse_os_release(text, d);
  (void)parse_lsb_release(text, d);
  (void)parse_suse_release(text, d);
  std::string_view line = first_line(text);
  for (auto [pattern, prefix] : {std::pair{ReleasePattern::None, ""}, {ReleasePattern::Fedora, ""},
                                 {ReleasePattern::Old, "Red Hat"}, {ReleasePattern::MajorMinor, "CentOS"},
                                 {ReleasePattern::MajorOnly, "Rocky Linux"}, {ReleasePattern::Frugalware, ""},
                                 {ReleasePattern::Pld, ""}}) {
    ReleaseData g;
    (void)parse_generic_release(line, "rhel", pattern, prefix, g);
  }
  if (d.distro) {
    int major = d.version ? d.version->first : 0, minor = d.version ? d.version->second : 0;
    (void)package_format_of(d.distro);
    (void)package_management_of(d.distro, major, true);
    (void)osinfo_of("linux", *d.distro, major, minor);
  }
  (void)parse_hostname_file(text);
  (void)parse_sysconfig_hostname(text);
  (void)version_from_major_minor(text);
  (void)shell_unquote(text);
  (void)elf_arch(std::span(reinterpret_cast<const std::byte*>(data), size));
  return 0;
}
