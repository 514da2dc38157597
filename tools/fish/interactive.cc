// The interactive front end: GNU readline (line editing, history in
// ~/.diskit_fish_history, completion of command names and guest paths).
#include <readline/history.h>
#include <readline/readline.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "fs/walk.h"
#include "tools/fish/frontend.h"

namespace dk::tools::fish {
namespace {

Shell* g_shell = nullptr;  // readline's callbacks take no context
std::vector<std::string> g_matches;

char* next_match(const char*, int state) {
  static size_t i;
  if (state == 0) i = 0;
  if (i >= g_matches.size()) return nullptr;
  return strdup(g_matches[i++].c_str());
}

// Guest paths completing `text` ("/et" -> "/etc/"), directories with a '/'.
std::vector<std::string> guest_paths(const std::string& text) {
  std::vector<std::string> out;
  if (!g_shell || !g_shell->launched() || g_shell->mount_records().empty()) return out;
  size_t slash = text.rfind('/');
  std::string dir = text.substr(0, slash + 1), prefix = text.substr(slash + 1);
  auto ents = fs::list_directory(g_shell->mounts().tree(), dir.empty() ? "/" : dir);
  if (!ents) return out;
  for (auto& e : *ents) {
    if (e.name.compare(0, prefix.size(), prefix) != 0) continue;
    bool is_dir = e.st.type() == fs::FileType::Directory;
    if (!is_dir && e.st.type() == fs::FileType::Symlink) {
      auto r = g_shell->mounts().tree().resolve(dir + e.name, true);
      if (r) {
        auto st = r->inode->stat();
        is_dir = st && st->type() == fs::FileType::Directory;
      }
    }
    out.push_back(dir + e.name + (is_dir ? "/" : ""));
  }
  return out;
}

std::vector<std::string> device_names(const std::string& text) {
  std::vector<std::string> out;
  if (!g_shell || !g_shell->launched()) return out;
  for (auto& d : g_shell->guest().devices())
    if (d.name.compare(0, text.size(), text) == 0) out.push_back(d.name);
  for (auto& p : g_shell->guest().partitions())
    if (p.name.compare(0, text.size(), text) == 0) out.push_back(p.name);
  return out;
}

char** complete(const char* text, int start, int) {
  std::string t(text);
  bool first_word = true;
  for (int i = 0; i < start; ++i)
    if (rl_line_buffer[i] != ' ' && rl_line_buffer[i] != '\t') first_word = false;
  g_matches.clear();
  if (first_word) {
    for (const std::string& n : command_table().names())
      if (n.compare(0, t.size(), t) == 0) g_matches.push_back(n);
  } else if (t.compare(0, 5, "/dev/") == 0) {
    g_matches = device_names(t);
  } else if (!t.empty() && t[0] == '/') {
    g_matches = guest_paths(t);
  } else {
    return nullptr;  // readline's local file name completion (upload, lcd...)
  }
  rl_attempted_completion_over = 1;
  // A directory is completed with its '/' and no space after it.
  bool all_dirs = !g_matches.empty();
  for (auto& m : g_matches) all_dirs = all_dirs && m.back() == '/';
  if (all_dirs) rl_completion_suppress_append = 1;
  if (g_matches.empty()) return nullptr;
  return rl_completion_matches(text, next_match);
}

std::string history_file() {
  const char* home = std::getenv("HOME");
  return home ? std::string(home) + "/.diskit_fish_history" : std::string();
}

}  // namespace

int run_interactive(Shell& sh, const std::string& greeting) {
  g_shell = &sh;
  rl_readline_name = "diskit-fish";
  rl_attempted_completion_function = complete;
  rl_completer_word_break_characters = const_cast<char*>(" \t\n\"'");
  (void)rl_variable_bind("completion-ignore-case", "on");
  std::string hist = history_file();
  using_history();
  if (!hist.empty()) (void)read_history(hist.c_str());

  std::printf("\nWelcome to diskit fish, the guest filesystem shell for\n"
              "editing virtual machine filesystems and disk images.\n\n"
              "Type: 'help' for help on commands\n"
              "      'man' to read the manual\n"
              "      'quit' to quit the shell\n\n");
  if (!greeting.empty()) std::printf("%s\n", greeting.c_str());
  std::fflush(stdout);
  while (!sh.quit_requested()) {
    char* line = readline("><fs> ");
    if (!line) break;
    if (*line) add_history(line);
    sh.next_line();
    sh.run_line(line, false);
    std::free(line);
  }
  std::printf("\n");
  if (!hist.empty()) {
    stifle_history(500);
    (void)write_history(hist.c_str());
  }
  g_shell = nullptr;
  return 0;
}

}  // namespace dk::tools::fish
