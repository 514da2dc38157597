// diskit inspect: virt-inspector without a VM — the operating systems on a
// guest's disks as virt-inspector's XML (default) or as JSON.
#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fs/inspect/inspect.h"
#include "tools/command.h"
#include "tools/guest_args.h"

namespace dk::tools {
namespace {

struct InspectCmdOptions {
  GuestOptions guest;
  std::string output = "xml";
  bool no_applications = false;
  bool no_icon = false;
};

// virt-inspector writes through libxml2's text writer with a two-space
// indent; this writes the same bytes for the elements it uses.
class XmlWriter {
 public:
  void start(const std::string& name, const std::vector<std::pair<std::string, std::string>>& attrs = {}) {
    close_open_tag(true);
    m_out += std::string(m_depth * 2, ' ') + "<" + name;
    for (auto& [k, v] : attrs) m_out += " " + k + "=\"" + escape(v, true) + "\"";
    m_open = true;
    m_stack.push_back(name);
    ++m_depth;
  }
  // An element holding text, on one line (its text may hold newlines).
  void text_element(const std::string& name, const std::string& text,
                    const std::vector<std::pair<std::string, std::string>>& attrs = {}) {
    close_open_tag(true);
    m_out += std::string(m_depth * 2, ' ') + "<" + name;
    for (auto& [k, v] : attrs) m_out += " " + k + "=\"" + escape(v, true) + "\"";
    m_out += ">" + escape(text, false) + "</" + name + ">\n";
  }
  void end() {
    --m_depth;
    if (m_open) {
      m_out += "/>\n";  // an element with no children
      m_open = false;
    } else {
      m_out += std::string(m_depth * 2, ' ') + "</" + m_stack.back() + ">\n";
    }
    m_stack.pop_back();
  }
  const std::string& str() const { return m_out; }

 private:
  void close_open_tag(bool newline) {
    if (!m_open) return;
    m_out += newline ? ">\n" : ">";
    m_open = false;
  }
  // xmlEncodeSpecialChars for text; attribute values also escape
  // newlines and tabs as libxml2's attribute serializer does.
  static std::string escape(const std::string& s, bool attr) {
    std::string out;
    for (char c : s) {
      switch (c) {
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '&': out += "&amp;"; break;
        case '"': out += "&quot;"; break;
        case '\r': out += "&#13;"; break;
        case '\n': out += attr ? "&#10;" : "\n"; break;
        case '\t': out += attr ? "&#9;" : "\t"; break;
        default: out += c;
      }
    }
    return out;
  }

  std::string m_out = "<?xml version=\"1.0\"?>\n";
  std::vector<std::string> m_stack;
  size_t m_depth = 0;
  bool m_open = false;
};

// libguestfs' canonical_device_name: /dev/hdX and /dev/vdX are /dev/sdX.
std::string canonical_device(const std::string& dev) {
  if (dev.rfind("/dev/hd", 0) == 0 || dev.rfind("/dev/vd", 0) == 0) return "/dev/sd" + dev.substr(7);
  return dev;
}

// virt-inspector's orders: mountpoints by length then name; file systems
// by device name.
std::vector<std::pair<std::string, std::string>> sorted_mountpoints(const fs::OsInfo& os) {
  auto mps = os.mountpoints;
  std::stable_sort(mps.begin(), mps.end(), [](const auto& a, const auto& b) {
    return a.first.size() != b.first.size() ? a.first.size() < b.first.size() : a.first < b.first;
  });
  return mps;
}
std::vector<fs::InspectedFilesystem> sorted_filesystems(const fs::OsInfo& os) {
  auto fss = os.filesystems;
  std::stable_sort(fss.begin(), fss.end(), [](const auto& a, const auto& b) { return a.device < b.device; });
  return fss;
}

struct Inspected {
  fs::OsInfo os;
  std::optional<std::vector<fs::Application>> apps;  // nullopt with --no-applications
};

void write_xml_os(XmlWriter& x, const Inspected& in) {
  const fs::OsInfo& os = in.os;
  x.start("operatingsystem");
  x.text_element("root", canonical_device(os.root));
  auto known = [&](const char* name, const std::string& v) {
    if (v != "unknown") x.text_element(name, v);
  };
  known("name", os.type);
  known("arch", os.arch);
  known("distro", os.distro);
  known("product_name", os.product_name);
  known("product_variant", os.product_variant);
  x.text_element("major_version", std::to_string(os.major_version));
  x.text_element("minor_version", std::to_string(os.minor_version));
  known("package_format", os.package_format);
  known("package_management", os.package_management);
  known("hostname", os.hostname);
  known("osinfo", os.osinfo);
  x.start("mountpoints");
  for (auto& [mp, dev] : sorted_mountpoints(os)) x.text_element("mountpoint", mp, {{"dev", canonical_device(dev)}});
  x.end();
  x.start("filesystems");
  for (auto& f : sorted_filesystems(os)) {
    x.start("filesystem", {{"dev", canonical_device(f.device)}});
    if (!f.type.empty()) x.text_element("type", f.type);
    if (!f.label.empty()) x.text_element("label", f.label);
    if (!f.uuid.empty()) x.text_element("uuid", f.uuid);
    x.end();
  }
  x.end();
  if (in.apps) {
    x.start("applications");
    for (const fs::Application& a : *in.apps) {
      x.start("application");
      x.text_element("name", a.name);
      auto opt = [&](const char* name, const std::string& v) {
        if (!v.empty()) x.text_element(name, v);
      };
      opt("display_name", a.display_name);
      if (a.epoch != 0) x.text_element("epoch", std::to_string(a.epoch));
      opt("version", a.version);
      opt("release", a.release);
      opt("arch", a.arch);
      opt("install_path", a.install_path);
      opt("publisher", a.publisher);
      opt("url", a.url);
      opt("source_package", a.source_package);
      opt("summary", a.summary);
      opt("description", a.description);
      x.end();
    }
    x.end();
  }
  x.end();
}

nlohmann::ordered_json json_os(const Inspected& in) {
  const fs::OsInfo& os = in.os;
  nlohmann::ordered_json j;
  j["root"] = canonical_device(os.root);
  j["type"] = os.type;
  j["distro"] = os.distro;
  j["product_name"] = os.product_name;
  j["major_version"] = os.major_version;
  j["minor_version"] = os.minor_version;
  j["arch"] = os.arch;
  j["hostname"] = os.hostname;
  j["package_format"] = os.package_format;
  j["package_management"] = os.package_management;
  j["osinfo"] = os.osinfo;
  nlohmann::ordered_json mps = nlohmann::ordered_json::object();
  for (auto& [mp, dev] : sorted_mountpoints(os)) mps[mp] = canonical_device(dev);
  j["mountpoints"] = mps;
  nlohmann::ordered_json fss = nlohmann::ordered_json::array();
  for (auto& f : sorted_filesystems(os))
    fss.push_back({{"dev", canonical_device(f.device)}, {"type", f.type}, {"label", f.label}, {"uuid", f.uuid}});
  j["filesystems"] = fss;
  if (in.apps) {
    nlohmann::ordered_json apps = nlohmann::ordered_json::array();
    for (const fs::Application& a : *in.apps)
      apps.push_back({{"name", a.name}, {"epoch", a.epoch}, {"version", a.version}, {"release", a.release},
                      {"arch", a.arch}, {"url", a.url}, {"source_package", a.source_package},
                      {"summary", a.summary}, {"description", a.description}});
    j["applications"] = apps;
  }
  return j;
}

Result<int> run_inspect(const CLI::App& app, InspectCmdOptions& o) {
  if (o.output != "xml" && o.output != "json")
    return make_error(EINVAL, "--output: '" + o.output + "' is not one of xml, json");
  auto guest = DK_TRY(open_guest(app, o.guest, false));
  auto warn = [](const std::string& m) { std::fprintf(stderr, "diskit: inspect: warning: %s\n", m.c_str()); };
  fs::InspectOptions io;
  io.warn = warn;
  std::vector<fs::OsInfo> roots = DK_TRY(fs::inspect_os(*guest, io));
  std::vector<Inspected> out;
  for (fs::OsInfo& os : roots) {
    Inspected in{os, std::nullopt};
    if (!o.no_applications) {
      // virt-inspector fails when the package database cannot be read; an
      // incomplete guest is still worth describing, so warn instead.
      auto apps = fs::list_applications(*guest, os);
      if (apps) {
        in.apps = std::move(*apps);
      } else {
        warn(os.root + ": applications: " + apps.error().message);
        in.apps.emplace();
      }
    }
    out.push_back(std::move(in));
  }
  if (o.output == "json") {
    nlohmann::ordered_json j;
    j["operatingsystems"] = nlohmann::ordered_json::array();
    for (auto& in : out) j["operatingsystems"].push_back(json_os(in));
    std::printf("%s\n", j.dump(4).c_str());
    return 0;
  }
  XmlWriter x;
  x.start("operatingsystems");
  for (auto& in : out) write_xml_os(x, in);
  x.end();
  std::fputs(x.str().c_str(), stdout);
  return 0;
}

}  // namespace

Command add_inspect(CLI::App& parent) {
  auto o = std::make_shared<InspectCmdOptions>();
  Command c;
  c.app = parent.add_subcommand("inspect", "Describe the operating systems of a guest (virt-inspector's XML or JSON)");
  add_guest_options(*c.app, o->guest, false);
  c.app->add_option("--output", o->output, "Output format: xml (virt-inspector's, the default) or json");
  c.app->add_flag("--no-applications", o->no_applications, "Do not list the installed applications");
  c.app->add_flag("--no-icon", o->no_icon, "Accepted for virt-inspector compatibility (no icon is read)");
  c.run = [o, app = c.app]() -> Result<int> { return run_inspect(*app, *o); };
  return c;
}

}  // namespace dk::tools
