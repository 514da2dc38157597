// The shell's command table: guestfish's names, synopses, one-line
// summaries and help texts, with what each command needs before it runs.
// Each command group (devices, mounts, reading, writing, transfer,
// inspection, shell built-ins) lives in its own file and adds its commands
// with add_<group>_commands().
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/core/error.h"

namespace dk::tools::fish {

class Shell;

// What must be true before a command runs.
enum class Need : uint8_t {
  Nothing,   // shell built-ins: help, echo, ...
  Launched,  // the disks are open ("run" was called)
  Root,      // launched, and a file system is mounted on /
};

enum class OptKind : uint8_t { Bool, Int, Int64, String, StringList };

struct OptArgSpec {
  std::string name;
  OptKind kind = OptKind::Bool;
};

// One parsed invocation: positional arguments, and the name:value optional
// arguments the command declares (validated before the handler runs).
struct Call {
  std::string name;  // the name as typed, lowercased (an alias stays an alias)
  std::vector<std::string> args;
  std::map<std::string, std::string> opts;

  // An optional boolean (already validated), or `def` when absent.
  bool flag(const std::string& opt, bool def = false) const;
  std::optional<std::string> opt(const std::string& name) const;
};

using Handler = std::function<Result<void>(Shell&, const Call&)>;

struct FishCommand {
  std::string name;                  // "mount-ro"
  std::vector<std::string> aliases;  // "vi", "emacs" for edit
  std::string params;                // synopsis after the name: "mountable mountpoint"
  std::vector<OptArgSpec> optargs;
  std::string summary;               // one line for `help`
  std::string description;           // paragraphs for `help CMD`
  int min_args = 0;
  int max_args = 0;                  // -1: no limit
  Need need = Need::Nothing;
  bool writes = false;               // refused when the disks are read-only
  Handler run;

  // "umount pathordevice [force:true|false] [lazyunmount:true|false]".
  std::string synopsis() const;
};

class CommandTable {
 public:
  void add(FishCommand c);
  // Looks a command up by name or alias, ignoring case, '_' matching '-'.
  const FishCommand* find(std::string_view name) const;
  // Every command, sorted by name.
  const std::vector<FishCommand>& all() const { return m_commands; }
  // Every name and alias (for completion).
  std::vector<std::string> names() const;

 private:
  std::vector<FishCommand> m_commands;
};

// The table, built once from every group.
const CommandTable& command_table();

// A command taking exactly `nargs` positional arguments.
FishCommand make_command(std::string name, std::string params, int nargs, Need need, std::string summary,
                         std::string description, Handler run);

// A command that needs a kernel (mkfs, part-init, lvm...): listed with its
// guestfish synopsis, and failing with "not available yet".
FishCommand kernel_only(std::string name, std::string params, std::string summary, int nargs);

void add_device_commands(CommandTable& t);
void add_mount_commands(CommandTable& t);
void add_read_commands(CommandTable& t);
void add_stat_commands(CommandTable& t);
void add_write_commands(CommandTable& t);
void add_transfer_commands(CommandTable& t);
void add_inspect_commands(CommandTable& t);
void add_builtin_commands(CommandTable& t);

}  // namespace dk::tools::fish
