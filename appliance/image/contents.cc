#include "appliance/image/contents.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <sstream>

#include "appliance/image/cpio.h"
#include "appliance/image/host_exec.h"

namespace dk::appliance {
namespace {

Result<std::string> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return errno_error(path);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string dir_of(const std::string& p) {
  size_t s = p.rfind('/');
  return s == std::string::npos ? std::string() : p.substr(0, s);
}

std::string module_name(const std::string& file) {
  std::string n = file.substr(file.rfind('/') + 1);
  n = n.substr(0, n.find(".ko"));
  for (char& c : n)
    if (c == '-') c = '_';
  return n;
}

}  // namespace

std::string initramfs_path(const std::string& host_path) {
  std::string p = host_path;
  while (!p.empty() && p[0] == '/') p.erase(0, 1);
  for (const char* top : {"bin", "sbin", "lib", "lib64", "lib32", "libx32"}) {
    std::string t = top;
    if (p == t || p.compare(0, t.size() + 1, t + "/") == 0) return "usr/" + p;
  }
  return p;
}

bool InitramfsTree::add_host_path(const std::string& path) {
  for (int depth = 0; depth < 16; ++depth) {
    std::string rel = initramfs_path(path);
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return false;
    if (S_ISLNK(st.st_mode)) {
      char buf[4096];
      ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
      if (n <= 0) return false;
      std::string target(buf, static_cast<size_t>(n));
      m_nodes[rel] = Node{Node::Link, target, 0777};
      std::string next = target[0] == '/' ? target : dir_of(path) + "/" + target;
      return add_host_path(next);
    }
    if (!S_ISREG(st.st_mode)) return false;
    m_nodes[rel] = Node{Node::File, path, static_cast<uint32_t>(st.st_mode & 07777)};
    return true;
  }
  return false;
}

bool InitramfsTree::add_program(const std::string& path) {
  if (!add_host_path(path)) return false;
  auto r = capture({"ldd", path});
  if (!r || r->status != 0) return true;  // a script or a static program
  std::istringstream in(r->out);
  std::string line;
  while (std::getline(in, line)) {
    // "\tlibz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x...)" or
    // "\t/lib64/ld-linux-x86-64.so.2 (0x...)".
    std::string lib;
    size_t arrow = line.find("=> ");
    if (arrow != std::string::npos)
      lib = line.substr(arrow + 3);
    else
      lib = line.substr(line.find_first_not_of(" \t"));
    lib = lib.substr(0, lib.find(" ("));
    if (lib.empty() || lib[0] != '/') continue;
    if (m_ldd_done.insert(lib).second) add_host_path(lib);
  }
  return true;
}

void InitramfsTree::add_data(const std::string& path, std::string data, uint32_t mode) {
  m_nodes[path] = Node{Node::Data, std::move(data), mode};
}

void InitramfsTree::add_symlink(const std::string& path, const std::string& target) {
  m_nodes[path] = Node{Node::Link, target, 0777};
}

Result<void> InitramfsTree::add_busybox_applets(const std::string& busybox) {
  auto r = DK_TRY(capture({busybox, "--list-full"}));
  if (r.status != 0) return make_error(EIO, busybox + " --list-full failed");
  std::istringstream in(r.out);
  std::string applet;
  while (std::getline(in, applet)) {
    if (applet.empty()) continue;
    std::string rel = initramfs_path("/" + applet);
    if (!m_nodes.count(rel)) m_nodes[rel] = Node{Node::Link, "/usr/bin/busybox", 0777};
  }
  return {};
}

Result<size_t> InitramfsTree::add_modules(const std::string& kver, const std::vector<std::string>& names) {
  std::string base = "/lib/modules/" + kver;
  std::string dep = DK_TRY(read_file(base + "/modules.dep"));
  std::map<std::string, std::pair<std::string, std::vector<std::string>>> table;  // name -> (file, deps)
  std::istringstream in(dep);
  std::string line;
  while (std::getline(in, line)) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string file = line.substr(0, colon);
    std::vector<std::string> deps;
    std::istringstream ds(line.substr(colon + 1));
    std::string d;
    while (ds >> d) deps.push_back(module_name(d));
    table[module_name(file)] = {file, deps};
  }
  std::vector<std::string> order;
  std::set<std::string> seen;
  std::function<void(const std::string&, int)> visit = [&](const std::string& n, int depth) {
    if (depth > 64 || seen.count(n) || !table.count(n)) return;
    seen.insert(n);
    for (const auto& d : table[n].second) visit(d, depth + 1);
    order.push_back(n);
  };
  for (const auto& n : names) visit(n, 0);
  std::string list;
  for (const auto& n : order) {
    std::string file = base + "/" + table[n].first;
    std::string data;
    if (file.ends_with(".xz") || file.ends_with(".zst")) {
      auto c = DK_TRY(capture({file.ends_with(".xz") ? "xz" : "zstd", "-dc", file}));
      if (c.status != 0) return make_error(EIO, "'" + file + "': cannot decompress it");
      data = std::move(c.out);
    } else {
      data = DK_TRY(read_file(file));
    }
    add_data("usr/lib/diskit/modules/" + n + ".ko", std::move(data));
    list += n + "\n";
  }
  add_data("usr/lib/diskit/modules/order", list);
  return order.size();
}

Result<std::string> InitramfsTree::archive() const {
  std::string out;
  CpioWriter w(out);
  std::set<std::string> dirs;
  std::function<void(const std::string&)> ensure_dir = [&](const std::string& d) {
    if (d.empty() || dirs.count(d)) return;
    ensure_dir(dir_of(d));
    dirs.insert(d);
    w.directory(d);
  };
  // The kernel opens /dev/console for /init's output before devtmpfs exists.
  ensure_dir("dev");
  w.char_device("dev/console", 0600, 5, 1);
  for (const auto& [path, node] : m_nodes) {
    ensure_dir(dir_of(path));
    switch (node.kind) {
      case Node::Link:
        w.symlink(path, node.source);
        break;
      case Node::Data:
        w.file(path, node.source, node.mode);
        break;
      case Node::File: {
        std::string data = DK_TRY(read_file(node.source));
        w.file(path, data, node.mode);
        break;
      }
    }
  }
  w.finish();
  return out;
}

}  // namespace dk::appliance
