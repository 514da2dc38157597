// diskit fish: a guestfish-compatible shell over the native guest file
// systems (tools/fish/ holds the shell; this file parses the options).
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "tools/command.h"
#include "tools/fish/frontend.h"
#include "tools/fish/inspect_mount.h"
#include "tools/fish/shell.h"

namespace dk::tools {
namespace {

struct FishOptions {
  std::vector<std::string> images;
  std::vector<std::string> formats;
  std::vector<std::string> mounts;
  bool ro = false;
  bool rw = false;
  bool inspector = false;
  bool trace = false;
  bool verbose = false;
  bool no_sync = false;
  std::string file;
  CLI::Option* image_opt = nullptr;
  CLI::Option* format_opt = nullptr;
};

// -a in order, each with the --format given before it ("auto": probe).
std::vector<fs::DiskSpec> disks_of(const CLI::App& app, const FishOptions& o) {
  std::vector<fs::DiskSpec> out;
  size_t ni = 0, nf = 0;
  std::string current;
  for (const CLI::Option* opt : app.parse_order()) {
    if (opt == o.format_opt && nf < o.formats.size()) {
      current = o.formats[nf++];
      if (current == "auto") current.clear();
    } else if (opt == o.image_opt && ni < o.images.size()) {
      out.push_back({o.images[ni++], current});
    }
  }
  while (ni < o.images.size()) out.push_back({o.images[ni++], current});
  return out;
}

// -m DEV[:MOUNTPOINT[:OPTIONS[:FSTYPE]]]
Result<void> mount_option(fish::Shell& sh, const std::string& m) {
  std::vector<std::string> parts;
  size_t i = 0;
  for (int k = 0; k < 3; ++k) {
    size_t c = m.find(':', i);
    if (c == std::string::npos) break;
    parts.push_back(m.substr(i, c - i));
    i = c + 1;
  }
  parts.push_back(m.substr(i));
  std::string dev = parts[0];
  std::string mp = parts.size() > 1 && !parts[1].empty() ? parts[1] : "/";
  std::string opts = parts.size() > 2 ? parts[2] : (sh.read_only() ? "ro" : "");
  bool ro = false;
  for (size_t p = 0; p <= opts.size();) {
    size_t c = opts.find(',', p);
    if (c == std::string::npos) c = opts.size();
    if (opts.compare(p, c - p, "ro") == 0) ro = true;
    p = c + 1;
  }
  return sh.mount(dev, mp, ro, opts);
}

Result<int> run_fish(const CLI::App& app, FishOptions& o) {
  if (o.ro && o.rw) return make_error(EINVAL, "--ro and --rw cannot be used together");
  fish::ShellOptions so;
  so.disks = disks_of(app, o);
  so.read_only = o.ro;  // guestfish 1.48 opens -a disks read-write unless --ro
  so.trace = o.trace;
  fish::Shell sh(so);
  bool interactive = o.file.empty() && isatty(0);
  std::string greeting;
  if (o.inspector || !o.mounts.empty()) {
    DK_TRY(sh.launch());
    if (o.inspector) greeting = DK_TRY(fish::inspect_and_mount(sh));
    for (const std::string& m : o.mounts) DK_TRY_CTX(mount_option(sh, m), "-m " + m);
  }
  std::vector<std::string> words = app.remaining();
  int status = 0;
  if (!o.file.empty()) {
    std::FILE* f = std::fopen(o.file.c_str(), "r");
    if (!f) return errno_error("open: " + o.file);
    sh.set_input(o.file, false);
    status = fish::run_script(sh, f);
    std::fclose(f);
  } else if (!words.empty()) {
    sh.set_input("*stdin*", interactive);
    status = fish::run_command_line(sh, words);
  } else if (interactive) {
    sh.set_input("*stdin*", true);
    status = fish::run_interactive(sh, greeting);
  } else {
    sh.set_input("*stdin*", false);
    status = fish::run_script(sh, stdin);
  }
  // Changes reach the image before the shell reports anything, even when a
  // script stopped at an error (guestfish syncs when its handle closes).
  std::fflush(stdout);
  DK_TRY(sh.shutdown());
  return status;
}

}  // namespace

Command add_fish(CLI::App& parent) {
  auto o = std::make_shared<FishOptions>();
  Command c;
  c.app = parent.add_subcommand("fish", "A guestfish-compatible shell for guest file systems");
  c.app->set_help_flag("--help", "Print this help message and exit");
  c.app->prefix_command();
  o->image_opt = c.app->add_option("-a,--add", o->images, "Disk image (repeatable; /dev/sda, /dev/sdb, ... in order)")
                     ->allow_extra_args(false);
  o->format_opt = c.app->add_option("--format", o->formats, "Format of the -a images that follow (auto: probe)")
                      ->allow_extra_args(false);
  c.app->add_flag("-r,--ro", o->ro, "Open the disks read-only; write commands are refused");
  c.app->add_flag("-w,--rw", o->rw, "Open the disks read-write (the default, as in guestfish 1.48)");
  c.app->add_flag("-i,--inspector", o->inspector, "Inspect the disks and mount the guest's file systems");
  c.app->add_option("-m,--mount", o->mounts, "Mount DEV[:MOUNTPOINT[:OPTIONS[:FSTYPE]]] (implies run)")
      ->allow_extra_args(false);
  c.app->add_flag("-x", o->trace, "Echo each command on standard error before running it");
  c.app->add_option("-f,--file", o->file, "Read commands from FILE");
  c.app->add_flag("-v,--verbose", o->verbose, "Accepted for compatibility");
  c.app->add_flag("-n,--no-sync", o->no_sync, "Accepted for compatibility (changes are always written)");
  c.run = [o, app = c.app]() -> Result<int> { return run_fish(*app, *o); };
  return c;
}

}  // namespace dk::tools
