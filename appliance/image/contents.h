// What goes into the appliance's initramfs, gathered from the host: files
// keep their host paths (merged-/usr layout), shared libraries come from
// ldd, kernel modules from modules.dep in load order.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "formats/core/error.h"

namespace dk::appliance {

class InitramfsTree {
 public:
  // Adds a host file at its own path (symlinks are kept as symlinks and
  // their targets added too); missing files are ignored and reported false.
  bool add_host_path(const std::string& path);
  // A program plus the shared libraries ldd says it needs.
  bool add_program(const std::string& path);
  // Generated content at `path` ("etc/passwd", relative).
  void add_data(const std::string& path, std::string data, uint32_t mode = 0644);
  void add_symlink(const std::string& path, const std::string& target);
  // Every busybox applet as a link to `busybox`, unless a real program
  // already sits at that path.
  Result<void> add_busybox_applets(const std::string& busybox);
  // The modules named (and all they depend on) from /lib/modules/<kver>,
  // decompressed, into usr/lib/diskit/modules with a load-order list.
  // Returns how many were added; names missing from modules.dep (built in
  // or absent) are skipped.
  Result<size_t> add_modules(const std::string& kver, const std::vector<std::string>& names);
  // The cpio archive.
  Result<std::string> archive() const;
  size_t size() const { return m_nodes.size(); }

 private:
  struct Node {
    enum Kind { File, Data, Link } kind = File;
    std::string source;  // File: host path; Data: content; Link: target
    uint32_t mode = 0644;
  };
  std::map<std::string, Node> m_nodes;  // relative path -> node
  std::set<std::string> m_ldd_done;
};

// "/lib/x" -> "usr/lib/x": the initramfs has /bin, /sbin, /lib, /lib64 as
// links into /usr like the host.
std::string initramfs_path(const std::string& host_path);

}  // namespace dk::appliance
