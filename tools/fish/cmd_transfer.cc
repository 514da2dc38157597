// Moving bytes between the host and the guest: download, upload, edit
// copy-in, copy-out, tar-in, tar-out (fs/copy).
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "fs/copy/copy.h"
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

fs::CopyOptions copy_options() {
  fs::CopyOptions o;
  o.warn = [](const std::string& w) { std::fprintf(stderr, "diskit: warning: %s\n", w.c_str()); };
  return o;
}

// tar-in/tar-out's optional arguments; xattrs, selinux and acls are not
// kept by diskit's file systems, so asking for them is an error.
Result<fs::TarOptions> tar_options(const Call& c) {
  fs::TarOptions o;
  o.warn = [](const std::string& w) { std::fprintf(stderr, "diskit: warning: %s\n", w.c_str()); };
  if (auto z = c.opt("compress")) o.compress = DK_TRY(fs::parse_compression(*z));
  if (auto ex = c.opt("excludes")) o.excludes = DK_TRY(parse_string_list(*ex));
  o.numeric_owner = true;
  for (const char* unsupported : {"xattrs", "selinux", "acls"})
    if (c.flag(unsupported)) return make_error(ENOTSUP, std::string(unsupported) + ":true is not supported yet");
  return o;
}

}  // namespace

void add_transfer_commands(CommandTable& t) {
  FishCommand ci;
  ci.name = "copy-in";
  ci.params = "local [local ...] /remotedir";
  ci.summary = "copy local files or directories into an image";
  ci.description =
      "Copies local files or directories recursively into the existing guest\n"
      "directory /remotedir (the last argument), keeping modes, owners and times.";
  ci.min_args = 2;
  ci.max_args = -1;
  ci.need = Need::Root;
  ci.writes = true;
  ci.run = [](Shell& sh, const Call& c) -> Result<void> {
    std::vector<std::string> local(c.args.begin(), c.args.end() - 1);
    return fs::copy_in(sh.mounts().tree(), local, c.args.back(), copy_options());
  };
  t.add(ci);
  FishCommand co;
  co.name = "copy-out";
  co.params = "remote [remote ...] localdir";
  co.summary = "copy remote files or directories out of an image";
  co.description =
      "Copies guest files or directories recursively into the existing local\n"
      "directory localdir (the last argument).";
  co.min_args = 2;
  co.max_args = -1;
  co.need = Need::Root;
  co.run = [](Shell& sh, const Call& c) -> Result<void> {
    std::vector<std::string> remote(c.args.begin(), c.args.end() - 1);
    return fs::copy_out(sh.mounts().tree(), remote, c.args.back(), copy_options());
  };
  t.add(co);
  FishCommand ti = make_command("tar-in", "tarfile directory", 2, Need::Root, "unpack tarfile to directory",
                                "Extracts the local tar archive (\"-\" for standard input; any compression)\n"
                                "into the existing guest directory.",
                                [](Shell& sh, const Call& c) -> Result<void> {
                                  fs::TarOptions to = DK_TRY(tar_options(c));
                                  return fs::tar_in(sh.mounts().tree(), c.args[0], c.args[1], to);
                                });
  ti.optargs = {{"compress", OptKind::String}, {"xattrs", OptKind::Bool}, {"selinux", OptKind::Bool},
                {"acls", OptKind::Bool}};
  ti.writes = true;
  t.add(ti);
  FishCommand to = make_command("tar-out", "directory tarfile", 2, Need::Root, "pack directory into tarfile",
                                "Writes a tar archive of the guest directory to the local file (\"-\" for\n"
                                "standard output); compress: gzip, bzip2, xz, lzop, compress or zstd;\n"
                                "excludes: a list of glob patterns.",
                                [](Shell& sh, const Call& c) -> Result<void> {
                                  fs::TarOptions to = DK_TRY(tar_options(c));
                                  std::fflush(stdout);
                                  return fs::tar_out(sh.mounts().tree(), c.args[0], c.args[1], to);
                                });
  to.optargs = {{"compress", OptKind::String}, {"numericowner", OptKind::Bool}, {"excludes", OptKind::StringList},
                {"xattrs", OptKind::Bool}, {"selinux", OptKind::Bool}, {"acls", OptKind::Bool}};
  t.add(to);
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
