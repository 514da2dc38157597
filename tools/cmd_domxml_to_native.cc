// diskit domxml-to-native: print the QEMU command line diskit run would
// execute for a libvirt domain XML, shell-quoted on one line, like
// `virsh domxml-to-native qemu-argv`. The runner's private sockets are
// shown under the mkdtemp template of the per-run directory.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "appliance/vmm/domain.h"
#include "appliance/vmm/vm.h"
#include "tools/command.h"

namespace dk::tools {
namespace {

struct DomxmlOptions {
  std::string file;
  std::string format = "qemu-argv";
  std::vector<std::string> args;  // [FORMAT] FILE, as virsh takes them
};

bool needs_quotes(const std::string& s) {
  if (s.empty()) return true;
  for (char c : s)
    if (!(isalnum(static_cast<unsigned char>(c)) || std::string_view("-_./=:,+@%").find(c) != std::string_view::npos))
      return true;
  return false;
}

std::string shell_quote(const std::string& s) {
  if (!needs_quotes(s)) return s;
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

Result<int> run_domxml(DomxmlOptions o) {
  if (o.args.size() == 2) o.format = o.args[0];
  if (o.args.size() > 2) return make_error(EINVAL, "Expecting [FORMAT] FILE");
  o.file = o.args.empty() ? "" : o.args.back();
  if (o.format != "qemu-argv") return make_error(EINVAL, "unsupported native format '" + o.format + "' (only qemu-argv)");
  if (o.file.empty()) return make_error(EINVAL, "Expecting a domain XML file name");
  auto dom = DK_TRY(vmm::load_domain_xml(o.file));
  for (const auto& w : dom.warnings) std::fprintf(stderr, "diskit: warning: '%s': %s\n", o.file.c_str(), w.c_str());
  if (dom.config.kernel.empty()) return make_error(EINVAL, "'" + o.file + "': the domain has no <os><kernel>");
  auto argv = DK_TRY(vmm::qemu_argv(dom.config));
  std::string line;
  for (const auto& a : argv) line += (line.empty() ? "" : " ") + shell_quote(a);
  std::printf("%s\n", line.c_str());
  return 0;
}

}  // namespace

Command add_domxml_to_native(CLI::App& parent) {
  auto o = std::make_shared<DomxmlOptions>();
  Command c;
  c.app = parent.add_subcommand("domxml-to-native", "Print the QEMU command line diskit run uses for a domain XML");
  c.app->add_option("--format", o->format, "Native format (only qemu-argv, the default)");
  c.app->add_option("args", o->args, "[qemu-argv] FILE: the libvirt domain XML file");
  c.run = [o]() -> Result<int> { return run_domxml(*o); };
  return c;
}

}  // namespace dk::tools
