// Shell built-ins: help, quit/exit, echo, setenv/unsetenv, lcd, man.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "tools/fish/output.h"
#include "tools/fish/shell.h"

namespace dk::tools::fish {
namespace {

void list_commands() {
  std::printf("    %-16s     %s\n", "Command", "Description");
  std::printf("%-20s %s\n", "help", "display a list of commands or help on a command");
  std::printf("%-20s %s\n", "quit", "quit guestfish");
  std::vector<std::pair<std::string, std::string>> rows;
  for (const FishCommand& c : command_table().all()) {
    if (c.name == "help" || c.name == "quit") continue;
    rows.push_back({c.name, c.summary});
    for (const std::string& a : c.aliases) rows.push_back({a, "alias for '" + c.name + "'"});
  }
  std::sort(rows.begin(), rows.end());
  for (auto& [n, s] : rows) std::printf("%-20s %s\n", n.c_str(), s.c_str());
  std::printf("    Use -h <cmd> / help <cmd> to show detailed help for a command.\n");
}

void indent_print(const std::string& text, const char* indent) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) std::printf("\n");
    else std::printf("%s%s\n", indent, line.c_str());
  }
}

Result<void> show_help(const std::string& name) {
  const FishCommand* c = command_table().find(name);
  if (!c) return make_error(ENOENT, "command not known: use 'help' to list all commands");
  if (c->name == "help") {
    std::printf("help - display a list of commands or help on a command\n     help --list\n     help cmd\n     help\n");
    return {};
  }
  if (c->name == "quit") {
    std::printf("quit - quit guestfish\n     quit\n");
    return {};
  }
  std::printf("NAME\n    %s - %s\n\nSYNOPSIS\n     %s\n\nDESCRIPTION\n", c->name.c_str(), c->summary.c_str(),
              c->synopsis().c_str());
  indent_print(c->description, "    ");
  if (!c->aliases.empty()) {
    std::string al;
    for (size_t i = 0; i < c->aliases.size(); ++i) al += (i ? " or '" : "'") + c->aliases[i] + "'";
    std::printf("\n    You can use %s as an alias for this command.\n", al.c_str());
  }
  std::printf("\n");
  return {};
}

}  // namespace

void add_builtin_commands(CommandTable& t) {
  FishCommand c;
  c.name = "help";
  c.params = "[cmd]";
  c.summary = "display a list of commands or help on a command";
  c.max_args = 1;
  c.run = [](Shell&, const Call& call) -> Result<void> {
    if (call.args.empty() || call.args[0] == "--list" || call.args[0] == "-l") {
      list_commands();
      return {};
    }
    return show_help(call.args[0]);
  };
  t.add(c);

  c = {};
  c.name = "quit";
  c.aliases = {"exit", "q"};
  c.summary = "quit guestfish";
  c.run = [](Shell& sh, const Call&) -> Result<void> {
    sh.request_quit();
    return {};
  };
  t.add(c);

  c = {};
  c.name = "echo";
  c.params = "[params ...]";
  c.summary = "display a line of text";
  c.description = "Prints the parameters, separated by single spaces, and a newline.";
  c.max_args = -1;
  c.run = [](Shell&, const Call& call) -> Result<void> {
    std::string line;
    for (size_t i = 0; i < call.args.size(); ++i) line += (i ? " " : "") + call.args[i];
    print_string(line);
    return {};
  };
  t.add(c);

  c = {};
  c.name = "setenv";
  c.params = "VAR value";
  c.summary = "set an environment variable";
  c.description = "Sets the environment variable VAR to value (for $EDITOR, commands run with '!', ...).";
  c.min_args = c.max_args = 2;
  c.run = [](Shell&, const Call& call) -> Result<void> {
    if (::setenv(call.args[0].c_str(), call.args[1].c_str(), 1) != 0) return errno_error("setenv");
    return {};
  };
  t.add(c);

  c = {};
  c.name = "unsetenv";
  c.params = "VAR";
  c.summary = "unset an environment variable";
  c.description = "Removes VAR from the environment.";
  c.min_args = c.max_args = 1;
  c.run = [](Shell&, const Call& call) -> Result<void> {
    if (::unsetenv(call.args[0].c_str()) != 0) return errno_error("unsetenv");
    return {};
  };
  t.add(c);

  c = {};
  c.name = "lcd";
  c.params = "directory";
  c.summary = "change working directory";
  c.description =
      "Changes the local directory: the current directory of diskit fish itself, where\n"
      "download, upload, copy-in and copy-out find relative local paths.";
  c.min_args = c.max_args = 1;
  c.run = [](Shell&, const Call& call) -> Result<void> {
    if (::chdir(call.args[0].c_str()) != 0) return errno_error(call.args[0]);
    return {};
  };
  t.add(c);

  c = {};
  c.name = "man";
  c.aliases = {"manual"};
  c.summary = "open the manual";
  c.description = "Opens the manual page diskit-fish(1).";
  c.run = [](Shell&, const Call&) -> Result<void> {
    std::fflush(stdout);
    int r = std::system("man 1 diskit-fish");
    if (r != 0) return make_error(EIO, "could not show the manual page diskit-fish(1)");
    return {};
  };
  t.add(c);
}

}  // namespace dk::tools::fish
