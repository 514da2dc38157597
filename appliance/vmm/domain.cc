// Domain XML parsing with pugixml. Each element handler lists the
// attributes and children it understands; everything else is reported.
#include "appliance/vmm/domain.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <initializer_list>
#include <sstream>

#include <pugixml.hpp>

#include "formats/core/checked_math.h"

namespace dk::vmm {
namespace {

constexpr uint64_t kMaxMemoryMib = uint64_t(16) << 20;  // 16 TiB

class Parser {
 public:
  explicit Parser(std::string what) : m_what(std::move(what)) {}
  Result<Domain> parse(const pugi::xml_node& root);

 private:
  using Names = std::initializer_list<std::string_view>;
  void warn(const std::string& msg) { m_dom.warnings.push_back(msg); }
  tl::unexpected<Error> error(const std::string& msg) { return make_error(EINVAL, m_what + ": " + msg); }
  // Reports attributes of `n` not in `known`.
  void check_attrs(const pugi::xml_node& n, const std::string& path, Names known);
  void unknown_child(const pugi::xml_node& c, const std::string& path);
  Result<uint64_t> memory(const pugi::xml_node& n);
  Result<void> os(const pugi::xml_node& n);
  Result<void> devices(const pugi::xml_node& n);
  Result<void> disk(const pugi::xml_node& n, std::vector<std::pair<std::string, DriveSpec>>& disks);
  Result<void> serial(const pugi::xml_node& n, const std::string& path);
  void lifecycle(const pugi::xml_node& n);

  std::string m_what;
  Domain m_dom;
  bool m_have_console = false;
};

bool in(std::string_view s, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), s) != names.end();
}

void Parser::check_attrs(const pugi::xml_node& n, const std::string& path, Names known) {
  for (auto a : n.attributes())
    if (!in(a.name(), known)) warn("unsupported attribute " + std::string(a.name()) + " of <" + path + "> ignored");
}

void Parser::unknown_child(const pugi::xml_node& c, const std::string& path) {
  if (c.type() != pugi::node_element) return;
  warn("unsupported element <" + path + "/" + c.name() + "> ignored");
}

// libvirt units: b/bytes, KB, k/KiB (the default), MB, M/MiB, GB, G/GiB,
// TB, T/TiB, PB, P/PiB, EB, E/EiB.
Result<uint64_t> unit_factor(std::string u) {
  if (u.empty()) u = "KiB";
  static const std::pair<std::string_view, double> kUnits[] = {
      {"b", 1},        {"bytes", 1},    {"KB", 1e3},      {"k", 1024.0},   {"KiB", 1024.0},
      {"MB", 1e6},     {"M", 1048576.0}, {"MiB", 1048576.0}, {"GB", 1e9}, {"G", 1073741824.0},
      {"GiB", 1073741824.0}, {"TB", 1e12}, {"T", 1099511627776.0}, {"TiB", 1099511627776.0}};
  for (auto& [name, f] : kUnits)
    if (u == name) return static_cast<uint64_t>(f);
  return make_error(EINVAL, "unknown memory unit '" + u + "'");
}

Result<uint64_t> Parser::memory(const pugi::xml_node& n) {
  check_attrs(n, n.name(), {"unit"});
  std::string text = n.text().as_string();
  uint64_t factor = DK_TRY_CTX(unit_factor(n.attribute("unit").as_string()), m_what + ": <" + n.name() + ">");
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos || text.size() > 19)
    return error("<" + std::string(n.name()) + "> must be a whole number, not '" + text + "'");
  uint64_t v = std::stoull(text);
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(v, factor, &bytes)) return error("<" + std::string(n.name()) + "> is too large");
  uint64_t mib = bytes / 1048576 + (bytes % 1048576 ? 1 : 0);  // QEMU takes whole MiB: round up
  if (mib > kMaxMemoryMib) return error("<" + std::string(n.name()) + "> is too large");
  return mib;
}

Result<void> Parser::os(const pugi::xml_node& n) {
  check_attrs(n, "domain/os", {});
  for (auto c : n.children()) {
    std::string name = c.name();
    if (name == "type") {
      check_attrs(c, "os/type", {"arch", "machine"});
      std::string arch = c.attribute("arch").as_string();
      if (!arch.empty() && arch != "x86_64") return error("os arch '" + arch + "' is not supported (only x86_64)");
      std::string type = c.text().as_string();
      if (type != "hvm") return error("os type '" + type + "' is not supported (only hvm)");
      m_dom.config.machine = c.attribute("machine").as_string();
    } else if (name == "kernel") {
      m_dom.config.kernel = c.text().as_string();
    } else if (name == "initrd") {
      m_dom.config.initrd = c.text().as_string();
    } else if (name == "cmdline") {
      m_dom.config.append = c.text().as_string();
    } else if (name == "boot") {
      warn("unsupported element <os/boot> ignored: the runner boots <kernel> directly");
    } else {
      unknown_child(c, "domain/os");
    }
  }
  return {};
}

Result<void> Parser::disk(const pugi::xml_node& n, std::vector<std::pair<std::string, DriveSpec>>& disks) {
  check_attrs(n, "disk", {"type", "device"});
  std::string type = n.attribute("type").as_string();
  std::string device = n.attribute("device").as_string("disk");
  if (type != "file") return error("disk type '" + type + "' is not supported (only type='file')");
  if (device != "disk") return error("disk device '" + device + "' is not supported (only device='disk')");
  DriveSpec d;
  std::string dev, bus;
  for (auto c : n.children()) {
    std::string name = c.name();
    if (name == "driver") {
      check_attrs(c, "disk/driver", {"name", "type"});
      std::string drv = c.attribute("name").as_string("qemu");
      if (drv != "qemu") return error("disk driver name '" + drv + "' is not supported (only qemu)");
      d.format = c.attribute("type").as_string();
    } else if (name == "source") {
      check_attrs(c, "disk/source", {"file"});
      d.image = c.attribute("file").as_string();
    } else if (name == "target") {
      check_attrs(c, "disk/target", {"dev", "bus"});
      dev = c.attribute("dev").as_string();
      bus = c.attribute("bus").as_string();
    } else if (name == "readonly") {
      d.read_only = true;
    } else {
      unknown_child(c, "disk");
    }
  }
  if (d.image.empty()) return error("a <disk> has no <source file=...>");
  if (dev.size() < 3 || dev.rfind("vd", 0) != 0 || dev.find_first_not_of("abcdefghijklmnopqrstuvwxyz", 2) != std::string::npos)
    return error("disk '" + d.image + "': target dev '" + dev + "' is not supported (use vda, vdb, ...)");
  if (!bus.empty() && bus != "virtio")
    return error("disk '" + d.image + "': target bus '" + bus + "' is not supported (only virtio)");
  disks.emplace_back(dev, d);
  return {};
}

Result<void> Parser::serial(const pugi::xml_node& n, const std::string& path) {
  check_attrs(n, path, {"type"});
  std::string type = n.attribute("type").as_string("pty");
  std::string file;
  for (auto c : n.children()) {
    std::string name = c.name();
    if (name == "source") {
      check_attrs(c, path + "/source", {"path"});
      file = c.attribute("path").as_string();
    } else if (name == "target") {
      check_attrs(c, path + "/target", {"type", "port"});
      std::string port = c.attribute("port").as_string("0");
      if (port != "0") return error("<" + path + "> port " + port + " is not supported (only port 0)");
    } else {
      unknown_child(c, path);
    }
  }
  std::string console;
  if (type == "file") {
    if (file.empty()) return error("<" + path + " type='file'> has no <source path=...>");
    console = file;
  } else if (type == "null") {
    console = "/dev/null";
  } else if (type == "pty") {
    warn("<" + path + " type='pty'> is not supported: the console goes to stdout");
  } else if (type != "stdio") {
    return error("<" + path + "> type '" + type + "' is not supported (stdio, file, null or pty)");
  }
  // <console> usually names the same serial port as <serial>: the first one wins.
  if (m_have_console) {
    if (console != m_dom.config.console_path)
      warn("<" + path + "> ignored: only one serial console is supported");
    return {};
  }
  m_have_console = true;
  m_dom.config.console_path = console;
  return {};
}

Result<void> Parser::devices(const pugi::xml_node& n) {
  check_attrs(n, "domain/devices", {});
  std::vector<std::pair<std::string, DriveSpec>> disks;
  for (auto c : n.children()) {
    std::string name = c.name();
    if (name == "disk") {
      DK_TRY(disk(c, disks));
    } else if (name == "serial" || name == "console") {
      DK_TRY(serial(c, name));
    } else if (name == "emulator") {
      warn("unsupported element <devices/emulator> ignored: the runner uses qemu-system-x86_64");
    } else {
      unknown_child(c, "domain/devices");
    }
  }
  // Disks appear in the guest in target order; a gap would renumber them.
  std::sort(disks.begin(), disks.end(), [](const auto& a, const auto& b) {
    return a.first.size() != b.first.size() ? a.first.size() < b.first.size() : a.first < b.first;
  });
  for (size_t i = 0; i < disks.size(); ++i) {
    if (i > 0 && disks[i].first == disks[i - 1].first) return error("two disks have target dev '" + disks[i].first + "'");
    std::string want = i < 26 ? "vd" + std::string(1, char('a' + i)) : "";
    if (!want.empty() && disks[i].first != want)
      return error("disk targets must be vda, vdb, ... without gaps ('" + disks[i].first + "' where '" + want + "' was expected)");
    m_dom.config.drives.push_back(disks[i].second);
  }
  return {};
}

void Parser::lifecycle(const pugi::xml_node& n) {
  std::string name = n.name();
  std::string v = n.text().as_string();
  check_attrs(n, "domain/" + name, {});
  // The runner always ends the run when the guest powers off, reboots
  // (QEMU -no-reboot) or crashes.
  if (v != "destroy") warn("<" + name + ">" + v + "</" + name + "> is not supported: the run ends (destroy)");
}

Result<Domain> Parser::parse(const pugi::xml_node& root) {
  if (std::string(root.name()) != "domain") return error("the root element is <" + std::string(root.name()) + ">, not <domain>");
  check_attrs(root, "domain", {"type", "id"});
  std::string type = root.attribute("type").as_string();
  if (type == "kvm") m_dom.config.accel = Accel::Kvm;
  else if (type == "qemu") m_dom.config.accel = Accel::Tcg;
  else return error("domain type '" + type + "' is not supported (kvm or qemu)");
  uint64_t mem = 0, cur = 0;
  for (auto c : root.children()) {
    std::string name = c.name();
    if (c.type() != pugi::node_element) continue;
    if (name == "name") {
      m_dom.config.name = c.text().as_string();
    } else if (name == "memory") {
      mem = DK_TRY(memory(c));
    } else if (name == "currentMemory") {
      cur = DK_TRY(memory(c));
    } else if (name == "vcpu") {
      check_attrs(c, "domain/vcpu", {"placement"});
      std::string v = c.text().as_string();
      if (v.empty() || v.size() > 3 || v.find_first_not_of("0123456789") != std::string::npos || std::stoul(v) < 1 ||
          std::stoul(v) > 255)
        return error("<vcpu> must be a number from 1 to 255, not '" + v + "'");
      m_dom.config.cpus = static_cast<unsigned>(std::stoul(v));
    } else if (name == "os") {
      DK_TRY(os(c));
    } else if (name == "devices") {
      DK_TRY(devices(c));
    } else if (name == "on_poweroff" || name == "on_reboot" || name == "on_crash") {
      lifecycle(c);
    } else {
      unknown_child(c, "domain");
    }
  }
  if (mem == 0 && cur == 0) return error("the domain has no <memory>");
  if (cur > mem) return error("<currentMemory> is larger than <memory>");
  if (cur != 0 && cur != mem) warn("<currentMemory> below <memory> is not supported: the guest gets <memory>");
  m_dom.config.memory_mib = mem ? mem : cur;
  return std::move(m_dom);
}

}  // namespace

Result<uint64_t> parse_memory_mib(const std::string& s) {
  size_t digits = 0;
  while (digits < s.size() && (isdigit(static_cast<unsigned char>(s[digits])) || s[digits] == '.')) ++digits;
  std::string num = s.substr(0, digits), suffix = s.substr(digits);
  if (num.empty() || num.size() > 20 || std::count(num.begin(), num.end(), '.') > 1)
    return make_error(EINVAL, "invalid memory size '" + s + "'");
  double v = std::strtod(num.c_str(), nullptr);
  double factor;
  if (suffix.empty() || suffix == "M" || suffix == "m" || suffix == "MiB") factor = 1;
  else if (suffix == "G" || suffix == "g" || suffix == "GiB") factor = 1024;
  else if (suffix == "T" || suffix == "t" || suffix == "TiB") factor = 1024.0 * 1024;
  else if (suffix == "K" || suffix == "k" || suffix == "KiB") factor = 1.0 / 1024;
  else return make_error(EINVAL, "invalid memory size '" + s + "' (use a number with M, G or T)");
  double mib = std::ceil(v * factor);
  if (!(mib >= 1) || mib > double(kMaxMemoryMib)) return make_error(EINVAL, "memory size '" + s + "' is out of range");
  return static_cast<uint64_t>(mib);
}

Result<Domain> parse_domain_xml(std::string_view xml, const std::string& what) {
  pugi::xml_document doc;
  auto r = doc.load_buffer(xml.data(), xml.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!r) {
    // pugixml reports a byte offset; people read line numbers.
    size_t off = std::min(static_cast<size_t>(r.offset), xml.size());
    size_t line = 1 + std::count(xml.begin(), xml.begin() + off, '\n');
    return make_error(EINVAL, what + ":" + std::to_string(line) + ": malformed XML: " + r.description());
  }
  return Parser(what).parse(doc.document_element());
}

Result<Domain> load_domain_xml(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return errno_error("'" + path + "'");
  std::ostringstream ss;
  ss << f.rdbuf();
  if (!f && !f.eof()) return errno_error("'" + path + "'");
  std::string text = ss.str();
  if (text.size() > (16u << 20)) return make_error(EFBIG, "'" + path + "': domain XML larger than 16 MiB");
  return parse_domain_xml(text, "'" + path + "'");
}

}  // namespace dk::vmm
