#include "tools/fish/table.h"

#include <algorithm>
#include <cctype>

namespace dk::tools::fish {
namespace {

std::string normalize(std::string_view s) {
  std::string out;
  for (char c : s) out += c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

const char* opt_type_doc(OptKind k) {
  switch (k) {
    case OptKind::Bool: return "true|false";
    case OptKind::Int:
    case OptKind::Int64: return "N";
    default: return "..";
  }
}

}  // namespace

bool Call::flag(const std::string& name, bool def) const {
  auto it = opts.find(name);
  if (it == opts.end()) return def;
  std::string l = normalize(it->second);
  return l == "true" || l == "t" || l == "yes" || l == "y" || l == "on" || l == "1";
}

std::optional<std::string> Call::opt(const std::string& name) const {
  auto it = opts.find(name);
  if (it == opts.end()) return std::nullopt;
  return it->second;
}

std::string FishCommand::synopsis() const {
  std::string s = name;
  if (!params.empty()) s += " " + params;
  for (const OptArgSpec& o : optargs) s += " [" + o.name + ":" + opt_type_doc(o.kind) + "]";
  return s;
}

void CommandTable::add(FishCommand c) {
  auto pos = std::lower_bound(m_commands.begin(), m_commands.end(), c.name,
                              [](const FishCommand& a, const std::string& n) { return a.name < n; });
  m_commands.insert(pos, std::move(c));
}

const FishCommand* CommandTable::find(std::string_view name) const {
  std::string n = normalize(name);
  for (const FishCommand& c : m_commands) {
    if (c.name == n) return &c;
    for (const std::string& a : c.aliases)
      if (a == n) return &c;
  }
  return nullptr;
}

std::vector<std::string> CommandTable::names() const {
  std::vector<std::string> out;
  for (const FishCommand& c : m_commands) {
    out.push_back(c.name);
    for (const std::string& a : c.aliases) out.push_back(a);
  }
  std::sort(out.begin(), out.end());
  return out;
}

const CommandTable& command_table() {
  static const CommandTable table = [] {
    CommandTable t;
    add_builtin_commands(t);
    add_device_commands(t);
    add_mount_commands(t);
    add_read_commands(t);
    add_stat_commands(t);
    add_write_commands(t);
    add_transfer_commands(t);
    add_inspect_commands(t);
    return t;
  }();
  return table;
}

FishCommand make_command(std::string name, std::string params, int nargs, Need need, std::string summary,
                         std::string description, Handler run) {
  FishCommand c;
  c.name = std::move(name);
  c.params = std::move(params);
  c.min_args = c.max_args = nargs;
  c.need = need;
  c.summary = std::move(summary);
  c.description = std::move(description);
  c.run = std::move(run);
  return c;
}

FishCommand kernel_only(std::string name, std::string params, std::string summary, int nargs) {
  FishCommand c;
  c.name = std::move(name);
  c.params = std::move(params);
  c.summary = std::move(summary);
  c.description =
      "guestfish runs this in its appliance's Linux kernel. diskit fish works without a\n"
      "virtual machine and cannot do it yet: the command fails with an error.";
  c.min_args = 0;
  c.max_args = -1;
  (void)nargs;
  c.need = Need::Nothing;
  c.run = [](Shell&, const Call& call) -> Result<void> {
    return make_error(ENOTSUP, "this command needs a Linux kernel (guestfish's appliance) and is not "
                               "available yet in diskit fish");
  };
  return c;
}

}  // namespace dk::tools::fish
