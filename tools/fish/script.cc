// Script and command-line front ends.
#include <cstdlib>

#include "tools/fish/frontend.h"

namespace dk::tools::fish {

int run_script(Shell& sh, std::FILE* in) {
  char* buf = nullptr;
  size_t cap = 0;
  ssize_t n;
  int status = 0;
  while (!sh.quit_requested() && (n = getline(&buf, &cap, in)) != -1) {
    std::string line(buf, static_cast<size_t>(n));
    if (!line.empty() && line.back() == '\n') line.pop_back();
    sh.next_line();
    if (!sh.run_line(line, true)) {
      status = 1;
      break;
    }
  }
  std::free(buf);
  return status;
}

int run_command_line(Shell& sh, const std::vector<std::string>& words) {
  size_t i = 0;
  while (i < words.size() && !sh.quit_requested()) {
    if (words[i] == ":") {
      std::fprintf(stderr, "diskit: fish: empty command on command line\n");
      return 1;
    }
    std::string cmd = words[i++];
    bool exit_on_error = true;
    if (cmd[0] == '-') {
      exit_on_error = false;
      cmd.erase(0, 1);
    }
    std::vector<std::string> args;
    while (i < words.size() && words[i] != ":") args.push_back(words[i++]);
    if (i < words.size()) ++i;  // the ":"
    if (sh.execute(cmd, std::move(args)) != 0 && exit_on_error) return 1;
  }
  return 0;
}

}  // namespace dk::tools::fish
