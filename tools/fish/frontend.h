// The three ways diskit fish reads commands: a script (stdin that is not a
// terminal, or -f FILE), the command line (COMMAND ARGS : COMMAND ...), and
// the interactive readline prompt.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "tools/fish/shell.h"

namespace dk::tools::fish {

// One command per line; the first failing line (unless it starts with '-')
// stops the script. Returns the exit status (0 or 1).
int run_script(Shell& sh, std::FILE* in);

// Commands given as words, separated by ":" words; a command starting with
// '-' may fail without stopping. Returns the exit status.
int run_command_line(Shell& sh, const std::vector<std::string>& words);

// The banner, the "><fs> " prompt with readline editing, history and tab
// completion (command names; guest paths for words starting with '/');
// errors are reported and the prompt comes back; quit, exit or Ctrl-D
// leave. `greeting` is printed after the banner (what -i mounted).
int run_interactive(Shell& sh, const std::string& greeting);

}  // namespace dk::tools::fish
