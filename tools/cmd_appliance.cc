// diskit appliance: build and inspect the appliance (the small Linux VM that
// runs the work needing a real kernel), and time its launch.
//   diskit appliance build [--force] [--gzip]
//   diskit appliance info
//   diskit appliance launch-test [-a IMAGE]... [--ro-add IMAGE]... [--ro] [--op OP]...
#include <sys/stat.h>

#include <chrono>
#include <tuple>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "appliance/host/appliance.h"
#include "appliance/image/builder.h"
#include "tools/command.h"

namespace dk::tools {
namespace {

struct ApplianceArgs {
  bool force = false, gzip = false, ro = false, verbose = false, no_state = false;
  std::vector<std::string> add, add_ro;
  std::vector<std::string> ops;
};

std::string mib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return buf;
}

Result<int> run_build(const ApplianceArgs& a) {
  appliance::BuildOptions o;
  o.force = a.force;
  o.gzip = a.gzip;
  auto rep = DK_TRY(appliance::ensure_image(o));
  if (!rep.rebuilt) {
    std::printf("appliance in %s is up to date (kernel %s, initrd %s)\n", rep.image.dir.c_str(),
                rep.image.kernel_version.c_str(), mib(rep.initrd_bytes).c_str());
  } else {
    std::printf("built the appliance in %s in %.1f s: kernel %s (%s), initrd %s (%zu files, %zu modules)\n",
                rep.image.dir.c_str(), rep.seconds, rep.image.kernel_version.c_str(), mib(rep.kernel_bytes).c_str(),
                mib(rep.initrd_bytes).c_str(), rep.files, rep.modules);
  }
  if (a.no_state) return 0;
  // Boots it once so the first command that needs it restores instead.
  auto [path, exists] = DK_TRY(appliance::Appliance::saved_state());
  if (path.empty()) return 0;  // DISKIT_APPLIANCE_SAVE=0
  if (!exists) {
    auto app = DK_TRY(appliance::Appliance::launch(appliance::LaunchOptions{}));
    double s = app->report().seconds;
    DK_TRY(app->shutdown());
    std::tie(path, exists) = DK_TRY(appliance::Appliance::saved_state());
    if (!exists) return make_error(EIO, "the appliance booted in " + std::to_string(s) + " s but its state was not saved");
    std::printf("booted the appliance in %.1f s and saved its state\n", s);
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0)
    std::printf("saved state: %s (%s)\n", path.c_str(), mib(static_cast<uint64_t>(st.st_size)).c_str());
  return 0;
}

Result<int> run_info() {
  nlohmann::json info = DK_TRY(appliance::image_info());
  auto [path, exists] = DK_TRY(appliance::Appliance::saved_state());
  info["saved_state"] = exists ? nlohmann::json(path) : nlohmann::json(nullptr);
  std::printf("%s\n", info.dump(2).c_str());
  return 0;
}

// Launches with the disks, runs the ops (default: ping, list-devices),
// prints the launch-to-ready time and shuts down.
Result<int> run_launch_test(const ApplianceArgs& a) {
  appliance::LaunchOptions o;
  o.verbose = a.verbose;
  for (const auto& img : a.add) o.drives.push_back({img, "", a.ro});
  for (const auto& img : a.add_ro) o.drives.push_back({img, "", true});
  auto t0 = std::chrono::steady_clock::now();
  auto app = DK_TRY(appliance::Appliance::launch(o));
  double ready = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("launch-to-ready: %.2f s (%s)\n", ready, app->report().how.c_str());
  std::vector<std::string> ops = a.ops.empty() ? std::vector<std::string>{"ping", "list-devices"} : a.ops;
  for (const auto& op : ops) {
    auto r = DK_TRY(app->call(op, nlohmann::json::object()));
    std::printf("%s: %s\n", op.c_str(), r.dump().c_str());
  }
  DK_TRY(app->shutdown());
  double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("total with shutdown: %.2f s\n", total);
  return 0;
}

}  // namespace

Command add_appliance(CLI::App& parent) {
  auto a = std::make_shared<ApplianceArgs>();
  Command c;
  c.app = parent.add_subcommand("appliance", "Build, inspect and test the appliance VM");
  c.app->require_subcommand(1);
  auto* build = c.app->add_subcommand("build", "Build the appliance into its cache (if stale, or with --force)");
  build->add_flag("--force", a->force, "Rebuild even when the cache is current");
  build->add_flag("--gzip", a->gzip, "Compress the initramfs");
  build->add_flag("--no-state", a->no_state, "Do not boot it to save its state");
  auto* info = c.app->add_subcommand("info", "Show the cached appliance and whether it is current");
  auto* test = c.app->add_subcommand("launch-test", "Launch the appliance, run ops and time it");
  test->add_option("-a,--add", a->add, "Attach a disk image (repeatable)");
  test->add_option("--ro-add", a->add_ro, "Attach a disk image read-only (after the -a disks)");
  test->add_flag("--ro", a->ro, "Attach the -a disks read-only");
  test->add_flag("-v,--verbose", a->verbose, "Show the guest's console");
  test->add_option("--op", a->ops, "Run this op (no arguments) instead of ping and list-devices");
  c.run = [a, build, info, test]() -> Result<int> {
    if (build->parsed()) return run_build(*a);
    if (info->parsed()) return run_info();
    if (test->parsed()) return run_launch_test(*a);
    return 1;
  };
  return c;
}

}  // namespace dk::tools
