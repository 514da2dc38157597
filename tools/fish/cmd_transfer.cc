// Moving bytes between the host and the guest: download, upload, edit
// (and copy-in, copy-out, tar-in, tar-out).
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "tools/fish/guestio.h"
#include "tools/fish/output.h"
#include "tools/fish/shell.h"

namespace dk::tools::fish {
namespace {

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

Result<std::string> slurp_local(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return errno_error(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Downloads the file, runs the editor on the copy, and uploads it back when
// it changed (in place, so the file keeps its inode, owner and mode).
Result<void> edit(Shell& sh, const std::string& path, const std::string& name) {
  std::string editor = name == "vi" ? "vi" : name == "emacs" ? "emacs -nw" : "";
  if (editor.empty()) {
    const char* e = std::getenv("EDITOR");
    editor = e && *e ? e : "vi";
  }
  DK_TRY(open_regular(sh, path));
  std::string base = path.substr(path.rfind('/') + 1);
  char dir_tmpl[] = "/tmp/diskit-fish-edit.XXXXXX";
  if (!mkdtemp(dir_tmpl)) return errno_error("creating a temporary directory");
  std::string local = std::string(dir_tmpl) + "/" + (base.empty() ? "file" : base);
  auto cleanup = [&] {
    ::unlink(local.c_str());
    ::rmdir(dir_tmpl);
  };
  auto r = [&]() -> Result<void> {
    DK_TRY(download_to(sh, path, local));
    std::string before = DK_TRY(slurp_local(local));
    std::fflush(stdout);
    int st = std::system((editor + " " + shell_quote(local)).c_str());
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
      return make_error(EIO, "the editor '" + editor + "' failed; the file was not changed");
    std::string after = DK_TRY(slurp_local(local));
    if (after == before) return {};
    return write_guest_file(sh, path, after, false);
  }();
  cleanup();
  return r;
}

}  // namespace

void add_transfer_commands(CommandTable& t) {
  t.add(make_command("download", "remotefilename filename", 2, Need::Root, "download a file to the local machine",
                     "Copies the guest file to a local file (\"-\" for standard output).",
                     [](Shell& sh, const Call& c) { return download_to(sh, c.args[0], c.args[1]); }));
  FishCommand up = make_command("upload", "filename remotefilename", 2, Need::Root,
                                "upload a file from the local machine",
                                "Creates or replaces the guest file with the local file's bytes (\"-\" for\n"
                                "standard input).",
                                [](Shell& sh, const Call& c) { return upload_from(sh, c.args[0], c.args[1]); });
  up.writes = true;
  t.add(up);
  FishCommand ed = make_command("edit", "filename", 1, Need::Root, "edit a file",
                                "Downloads the file to a temporary file, runs $EDITOR on it (vi when unset;\n"
                                "the aliases vi and emacs choose those editors), and uploads it again when it\n"
                                "changed.",
                                [](Shell& sh, const Call& c) { return edit(sh, c.args[0], c.name); });
  ed.aliases = {"vi", "emacs"};
  ed.writes = true;
  t.add(ed);
}

}  // namespace dk::tools::fish
