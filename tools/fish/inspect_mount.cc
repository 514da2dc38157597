#include "tools/fish/inspect_mount.h"

#include <algorithm>
#include <strings.h>

#include "tools/fish/cmd_appliance.h"
#include "tools/fish/inspect_state.h"

namespace dk::tools::fish {

Result<std::vector<fs::OsInfo>> inspect(Shell& sh) {
  fs::InspectOptions io;
  io.warn = [](const std::string& w) { std::fprintf(stderr, "diskit: warning: %s\n", w.c_str()); };
  DK_TRY(prepare_inspection(sh));
  auto oses = DK_TRY(fs::inspect_os(sh.guest(), io));
  auto st = std::make_unique<Shell::InspectState>();
  st->oses = oses;
  sh.set_inspect_state(std::move(st));
  return oses;
}

Result<std::string> inspect_and_mount(Shell& sh) {
  auto oses = DK_TRY(inspect(sh));
  const char* advice =
      "\n\nIf using the -i option, remove it and instead use the commands 'run'\n"
      "followed by 'list-filesystems'. You can then mount the file systems you\n"
      "want by hand using the 'mount' or 'mount-ro' command.";
  if (oses.empty()) return make_error(ENOENT, std::string("no operating system was found on this disk") + advice);
  if (oses.size() > 1) return make_error(EINVAL, std::string("multi-boot operating systems are not supported") + advice);
  const fs::OsInfo& os = oses[0];
  // Shortest mountpoint first, so /boot is there before /boot/efi; "/" must
  // mount, the others are skipped with one warning when they fail.
  auto mps = os.mountpoints;
  std::stable_sort(mps.begin(), mps.end(),
                   [](const auto& a, const auto& b) { return a.first.size() < b.first.size(); });
  size_t errors = 0;
  for (const auto& [mp, dev] : mps) {
    auto r = sh.mount(dev, mp, false, "");
    if (!r) {
      if (mp == "/") return make_error(r.error());
      ++errors;
    }
  }
  if (errors) std::fprintf(stderr, "diskit: fish: some filesystems could not be mounted (ignored)\n");
  std::string out;
  if (os.product_name != "unknown") out += "Operating system: " + os.product_name + "\n";
  auto sorted = os.mountpoints;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return strcasecmp(a.first.c_str(), b.first.c_str()) < 0; });
  for (const auto& [mp, dev] : sorted) {
    auto d = sh.guest().find(dev);
    out += (d ? d->name : dev) + " mounted on " + mp + "\n";
  }
  return out;
}

}  // namespace dk::tools::fish
