#include "appliance/host/saved_state.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <ctime>
#include <cstdlib>
#include <sstream>

#include "appliance/vmm/qemu.h"

namespace dk::appliance {
namespace {

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// Identifies the QEMU binary: its real path (symlinks resolved), size and
// modification time.
std::string qemu_identity() {
  std::string path = vmm::qemu_binary();
  if (path.find('/') == std::string::npos) {
    const char* env = std::getenv("PATH");
    std::stringstream dirs(env ? env : "/usr/bin:/bin");
    std::string d;
    while (std::getline(dirs, d, ':'))
      if (!d.empty() && ::access((d + "/" + path).c_str(), X_OK) == 0) {
        path = d + "/" + path;
        break;
      }
  }
  char real[PATH_MAX];
  if (::realpath(path.c_str(), real)) path = real;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return path;
  return path + ":" + std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec);
}

}  // namespace

std::string saved_state_path(const std::string& dir, const vmm::VmConfig& cfg, const std::string& image_key) {
  std::ostringstream k;
  k << "v1\n" << qemu_identity() << '\n' << cfg.kernel << '\n' << cfg.initrd << '\n' << cfg.append << '\n'
    << cfg.memory_mib << ' ' << cfg.cpus << ' ' << static_cast<int>(vmm::choose_accel(cfg.accel).accel) << ' '
    << cfg.machine << ' ' << cfg.hotplug_slots << ' ' << cfg.hotplug_drives << '\n';
  for (const auto& c : cfg.channels) k << "channel " << c.name << '\n';
  k << image_key;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a(k.str())));
  return dir + "/state-" + hex;
}

void remove_stale_states(const std::string& dir, const std::string& keep) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  const std::string keep_name = keep.substr(keep.rfind('/') + 1);
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n.rfind("state-", 0) != 0 || n == keep_name) continue;
    // Another launch may be writing a .tmp file right now: only old ones go.
    struct stat st {};
    if (n.find(".tmp") != std::string::npos &&
        (::stat((dir + "/" + n).c_str(), &st) != 0 || st.st_mtime > ::time(nullptr) - 600))
      continue;
    ::unlink((dir + "/" + n).c_str());
  }
  ::closedir(d);
}

bool saved_states_enabled() {
  const char* e = std::getenv("DISKIT_APPLIANCE_SAVE");
  return !(e && std::string(e) == "0");
}

}  // namespace dk::appliance
