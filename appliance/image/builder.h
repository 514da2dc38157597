// The appliance image: the host's Debian kernel plus an initramfs holding
// busybox, the kernel modules the agent's work needs (in load order), the
// disk tools with their shared libraries, and diskit-agent. Built from the
// installed packages (nothing is downloaded) into a cache directory and
// rebuilt when its key changes: the kernel version, the dpkg versions of
// the packages it copies from, and the agent binary's hash.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "formats/core/error.h"

namespace dk::appliance {

struct ApplianceImage {
  std::string dir;             // the cache directory
  std::string kernel, initrd;  // paths inside it
  std::string kernel_version;
};

struct BuildOptions {
  bool force = false;  // rebuild even when the cache is current
  bool gzip = false;   // compress the initramfs (slower to boot under TCG)
};

struct BuildReport {
  ApplianceImage image;
  bool rebuilt = false;
  double seconds = 0;
  uint64_t initrd_bytes = 0, kernel_bytes = 0;
  size_t files = 0, modules = 0;
};

// $DISKIT_APPLIANCE_DIR, else ~/.cache/diskit/appliance.
std::string appliance_dir();
// The image's paths inside cache directory `dir` (whether built or not).
ApplianceImage image_in(const std::string& dir, const std::string& kernel_version = {});
// diskit-agent: $DISKIT_AGENT, else next to the running diskit binary.
Result<std::string> agent_path();
// Returns the cached image, building it first when missing or stale.
Result<BuildReport> ensure_image(const BuildOptions& o);
// What the cache holds and whether it is current (diskit appliance info).
Result<nlohmann::json> image_info();

}  // namespace dk::appliance
