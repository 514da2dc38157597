// diskit fish: a guestfish-compatible shell over the native guest file
// systems (tools/fish/ holds the shell; this file parses the options).
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "tools/command.h"
#include "tools/fish/cmd_appliance.h"
#include "tools/fish/frontend.h"
#include "tools/fish/inspect_mount.h"
#include "tools/fish/prepared.h"
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
  std::vector<std::string> prepared;  // -N
  bool appliance = false;             // --appliance
  bool no_appliance = false;          // --no-appliance
  std::vector<std::string> keys;      // --key DEVICE:key:PASS
  bool keys_from_stdin = false;
  CLI::Option* image_opt = nullptr;
  CLI::Option* format_opt = nullptr;
  CLI::Option* prepared_opt = nullptr;
};

// -a in order, each with the --format given before it ("auto": probe),
// and the -N prepared disks where they stand among them (made here; the
// commands that finish them once launched go to `post_launch`).
Result<std::vector<fs::DiskSpec>> disks_of(const CLI::App& app, const FishOptions& o,
                                           std::vector<std::vector<std::string>>& post_launch) {
  std::vector<fs::DiskSpec> out;
  size_t ni = 0, nf = 0, nn = 0;
  std::string current;
  for (const CLI::Option* opt : app.parse_order()) {
    if (opt == o.format_opt && nf < o.formats.size()) {
      current = o.formats[nf++];
      if (current == "auto") current.clear();
    } else if (opt == o.image_opt && ni < o.images.size()) {
      out.push_back({o.images[ni++], current});
    } else if (opt == o.prepared_opt && nn < o.prepared.size()) {
      const std::string& spec = o.prepared[nn++];
      fish::PreparedDisk d = DK_TRY_CTX(fish::prepare_disk(spec, nn, fs::disk_name(out.size())), "-N " + spec);
      out.push_back(d.disk);
      for (auto& c : d.post_launch) post_launch.push_back(std::move(c));
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

// Closes the shell's disks, then stops the appliance (the order matters:
// the appliance's mounts are unmounted as the shell lets them go).
Result<void> finish(fish::Shell& sh) {
  std::fflush(stdout);
  Result<void> r = sh.shutdown();
  Result<void> a = fish::shutdown_appliance();
  if (!r) return r;
  return a;
}

Result<int> run_fish_shell(const CLI::App& app, FishOptions& o, fish::Shell& sh,
                           const std::vector<std::vector<std::string>>& post_launch);

Result<int> run_fish(const CLI::App& app, FishOptions& o) {
  if (o.ro && o.rw) return make_error(EINVAL, "--ro and --rw cannot be used together");
  if (o.appliance && o.no_appliance) return make_error(EINVAL, "--appliance and --no-appliance cannot be used together");
  for (const std::string& p : o.prepared)
    if (p == "help" || p == "list") {
      std::fputs(fish::prepared_disk_help().c_str(), stdout);
      return 0;
    }
  fish::set_appliance_policy(o.appliance      ? fish::AppliancePolicy::Always
                             : o.no_appliance ? fish::AppliancePolicy::Never
                                              : fish::AppliancePolicy::Auto);
  for (const std::string& k : o.keys) {
    // DEVICE:key:PASS (the key may itself hold colons).
    size_t c = k.find(":key:");
    if (c == std::string::npos || c == 0) return make_error(EINVAL, "--key " + k + ": use --key DEVICE:key:PASSPHRASE");
    fish::add_fish_key(k.substr(0, c), k.substr(c + 5));
  }
  fish::set_fish_keys_from_stdin(o.keys_from_stdin);
  fish::set_appliance_verbose(o.verbose);
  std::vector<std::vector<std::string>> post_launch;
  fish::ShellOptions so;
  so.disks = DK_TRY(disks_of(app, o, post_launch));
  so.read_only = o.ro;  // guestfish 1.48 opens -a disks read-write unless --ro
  so.trace = o.trace;
  fish::Shell sh(so);
  auto r = run_fish_shell(app, o, sh, post_launch);
  auto f = finish(sh);
  if (!r) return r;
  if (!f) return make_error(f.error());
  return r;
}

Result<int> run_fish_shell(const CLI::App& app, FishOptions& o, fish::Shell& sh,
                           const std::vector<std::vector<std::string>>& post_launch) {
  bool interactive = o.file.empty() && isatty(0);
  std::string greeting;
  if (!o.prepared.empty()) {
    // Prepared disks launch the shell (guestfish does) and are finished in
    // the appliance when they need it.
    DK_TRY(sh.launch());
    if (fish::appliance_policy() == fish::AppliancePolicy::Always) DK_TRY(fish::ensure_appliance(sh, "launch"));
    for (const auto& c : post_launch) {
      sh.set_input("-N", false);
      if (sh.execute(c[0], std::vector<std::string>(c.begin() + 1, c.end())) != 0)
        return make_error(EIO, "-N: '" + c[0] + "' failed");
    }
  }
  if (o.inspector || !o.mounts.empty()) {
    if (!sh.launched()) DK_TRY(sh.launch());
    if (fish::appliance_policy() == fish::AppliancePolicy::Always) DK_TRY(fish::ensure_appliance(sh, "launch"));
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
  // script stopped at an error (guestfish syncs when its handle closes):
  // run_fish closes the disks and the appliance after this returns.
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
  c.app->add_flag("-v,--verbose", o->verbose, "Show the appliance's console on standard error");
  o->prepared_opt = c.app->add_option("-N,--new", o->prepared,
                                      "Make a prepared disk: [FILENAME=]TYPE[:...] (-N help lists them)")
                        ->allow_extra_args(false);
  c.app->add_flag("--appliance", o->appliance, "Start the appliance (a Linux VM) at launch");
  c.app->add_flag("--no-appliance", o->no_appliance, "Never start the appliance: commands that need it fail");
  c.app->add_option("--key", o->keys, "LUKS key for cryptsetup-open: DEVICE:key:PASSPHRASE")->allow_extra_args(false);
  c.app->add_flag("--keys-from-stdin", o->keys_from_stdin, "Read LUKS keys from standard input");
  c.app->add_flag("-n,--no-sync", o->no_sync, "Accepted for compatibility (changes are always written)");
  c.run = [o, app = c.app]() -> Result<int> { return run_fish(*app, *o); };
  return c;
}

}  // namespace dk::tools
