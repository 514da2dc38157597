// diskit-agent: the program the appliance's /init starts. It serves
// requests (appliance/proto) on the virtio-serial port named by --port, or
// on stdin/stdout with --stdio, where --device sda=FILE makes a host file
// stand for a disk so the ops can be tested without a VM.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "appliance/agent/server.h"

namespace {

void usage() {
  std::fprintf(stderr,
               "usage: diskit-agent [--port NAME]\n"
               "       diskit-agent --stdio [--device sdX=FILE]...\n");
}

// /dev/vportNpM whose /sys/class/virtio-ports/<it>/name is `name`: without
// udev there is no /dev/virtio-ports/NAME link.
std::string find_port(const std::string& name) {
  std::string found;
  if (DIR* d = ::opendir("/sys/class/virtio-ports")) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::ifstream f(std::string("/sys/class/virtio-ports/") + e->d_name + "/name");
      std::string n;
      if (std::getline(f, n) && n == name) found = std::string("/dev/") + e->d_name;
    }
    ::closedir(d);
  }
  return found;
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);  // a tool closing its stdin early is an error, not a death
  bool stdio = false;
  std::string port = "org.diskit.agent";
  dk::agent::DeviceMap devices = dk::agent::DeviceMap::guest();
  dk::agent::DeviceMap host = dk::agent::DeviceMap::host();
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--stdio") {
      stdio = true;
    } else if (a == "--port" && i + 1 < argc) {
      port = argv[++i];
    } else if (a == "--device" && i + 1 < argc) {
      std::string spec = argv[++i];
      size_t eq = spec.find('=');
      if (eq == std::string::npos || spec.compare(0, 2, "sd") != 0 || eq < 3) {
        std::fprintf(stderr, "diskit-agent: --device wants sdX=FILE, not '%s'\n", spec.c_str());
        return 2;
      }
      host.add(spec.substr(0, eq), spec.substr(eq + 1));
    } else {
      usage();
      return 2;
    }
  }
  if (stdio) {
    dk::proto::Channel ch(0, 1);
    dk::agent::Server s(ch, std::move(host));
    return s.run();
  }
  std::string dev;
  // The port appears once virtio_console has probed; /init loads it first,
  // but give the kernel a moment.
  for (int i = 0; i < 500 && (dev = find_port(port)).empty(); ++i) ::usleep(10000);
  if (dev.empty()) {
    std::fprintf(stderr, "diskit-agent: no virtio-serial port named '%s'\n", port.c_str());
    return 1;
  }
  int fd = ::open(dev.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    std::fprintf(stderr, "diskit-agent: %s: %s\n", dev.c_str(), std::strerror(errno));
    return 1;
  }
  dk::proto::Channel ch(fd, fd);
  dk::agent::Server s(ch, std::move(devices));
  int rc = s.run();
  ::sync();
  return rc;
}
