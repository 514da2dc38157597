// diskit df: virt-df -a without a VM — size, used and available space of
// every file system on the guest's disks (each opened read-only in turn).
#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fs/disk.h"
#include "fs/mount.h"
#include "fs/probe.h"
#include "tools/command.h"
#include "tools/guest_args.h"
#include "tools/guest_output.h"
#include "tools/image_args.h"

namespace dk::tools {
namespace {

struct DfOptions {
  GuestOptions guest;
  bool human = false;
  bool csv = false;
  bool inodes = false;
  std::string output = "human";
};

struct DfRow {
  std::string device;
  fs::StatVfs st;
};

// virt-df's candidates: list-filesystems without swap and unknown, each
// mounted read-only; one that cannot be opened is left out, as virt-df
// leaves out what fails to mount.
Result<std::vector<DfRow>> statvfs_all(fs::Guest& g) {
  std::vector<DfRow> rows;
  fs::MountOptions mo;
  mo.warn = [](const std::string&) {};
  bool has_pv = false;
  for (const fs::BlockDevice& d : g.filesystem_candidates()) {
    if (d.part && d.part->extended) continue;
    auto layer = DK_TRY(g.open_device(d));
    fs::ProbeResult p = DK_TRY_CTX(fs::probe_filesystem(*layer), "'" + d.name + "'");
    has_pv = has_pv || p.type == "LVM2_member";
    if (!fs::can_mount(p.type)) continue;
    auto fsys = fs::open_filesystem(g, d, mo);
    if (!fsys) continue;
    auto st = (*fsys)->statvfs();
    if (!st) continue;
    rows.push_back({d.name, *st});
  }
  // LVs, through the appliance (after the partitions, as list-filesystems
  // orders them).
  auto extra = fs::extra_devices(g, has_pv);
  if (!extra) std::fprintf(stderr, "diskit: df: warning: %s\n", extra.error().message.c_str());
  std::vector<fs::ExtraDevice> lvs = extra ? std::move(*extra) : std::vector<fs::ExtraDevice>{};
  std::sort(lvs.begin(), lvs.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  for (const fs::ExtraDevice& e : lvs) {
    if (!fs::fallback_mounter() || !fs::can_mount(e.probe.type)) continue;
    auto fsys = fs::fallback_mounter()(g, e.name, "", mo);
    if (!fsys) continue;
    auto st = (*fsys)->statvfs();
    if (st) rows.push_back({e.name, *st});
  }
  return rows;
}

// The four data columns of one row, as virt-df's print_stat computes them.
std::vector<std::string> columns(const fs::StatVfs& s, const DfOptions& o) {
  uint64_t total, used, avail;
  float percent = 0;
  if (o.inodes) {
    total = s.files, used = s.files - std::min(s.ffree, s.files), avail = s.ffree;
    if (s.files) percent = static_cast<float>(100. - 100. * static_cast<double>(s.ffree) / static_cast<double>(s.files));
  } else {
    total = s.blocks, used = s.blocks - std::min(s.bfree, s.blocks), avail = s.bavail;
    if (s.blocks) percent = static_cast<float>(100. - 100. * static_cast<double>(s.bfree) / static_cast<double>(s.blocks));
  }
  std::vector<std::string> c;
  for (uint64_t v : {total, used, avail}) {
    if (o.inodes) c.push_back(std::to_string(v));
    else if (o.human) c.push_back(human_size(v * s.bsize));
    else c.push_back(std::to_string(v * s.bsize / 1024));
  }
  char buf[32];
  if (o.csv) std::snprintf(buf, sizeof buf, "%.1f", static_cast<double>(percent));
  else std::snprintf(buf, sizeof buf, "%3.0f%%", std::ceil(static_cast<double>(percent)));
  c.push_back(buf);
  return c;
}

void print_title(const DfOptions& o) {
  const char* c2 = o.inodes ? "Inodes" : o.human ? "Size" : "1K-blocks";
  const char* c3 = o.inodes ? "IUsed" : "Used";
  const char* c4 = o.inodes ? "IFree" : "Available";
  const char* c5 = o.inodes ? "IUse%" : "Use%";
  if (o.csv) std::printf("VirtualMachine,Filesystem,%s,%s,%s,%s\n", c2, c3, c4, c5);
  else std::printf("%-36s%10s %10s %10s %5s\n", "Filesystem", c2, c3, c4, c5);
}

Result<int> run_df(const CLI::App& app, DfOptions& o) {
  OutputFormat fmt = DK_TRY(parse_output_format(o.output));
  if (o.human && o.csv) return make_error(EINVAL, "you cannot use -h and --csv options together.");
  auto guest = DK_TRY(open_guest(app, o.guest, false));
  std::vector<DfRow> rows = DK_TRY(statvfs_all(*guest));
  if (rows.empty()) return make_error(ENOENT, "no file system that diskit can open was found in the guest");
  if (fmt == OutputFormat::Json) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const DfRow& r : rows) {
      const fs::StatVfs& s = r.st;
      if (o.inodes)
        out.push_back({{"filesystem", r.device}, {"inodes", s.files},
                       {"iused", s.files - std::min(s.ffree, s.files)}, {"ifree", s.ffree}});
      else
        out.push_back({{"filesystem", r.device}, {"size", s.blocks * s.frsize},
                       {"used", (s.blocks - std::min(s.bfree, s.blocks)) * s.frsize},
                       {"available", s.bavail * s.frsize}});
    }
    std::printf("%s\n", out.dump(4).c_str());
    return 0;
  }
  const std::string name = display_name(o.guest);
  print_title(o);
  for (const DfRow& r : rows) {
    std::vector<std::string> c = columns(r.st, o);
    if (o.csv) {
      std::string line = csv_field(name) + "," + csv_field(r.device);
      for (const std::string& v : c) line += "," + csv_field(v);
      std::printf("%s\n", line.c_str());
      continue;
    }
    std::string first = name + ":" + r.device;
    // A long name takes its own line, as virt-df does.
    if (first.size() <= 36) first.append(36 - first.size(), ' ');
    else first += "\n" + std::string(36, ' ');
    std::printf("%s%10s %10s %10s %5s\n", first.c_str(), c[0].c_str(), c[1].c_str(), c[2].c_str(), c[3].c_str());
  }
  return 0;
}

}  // namespace

Command add_df(CLI::App& parent) {
  auto o = std::make_shared<DfOptions>();
  Command c;
  c.app = parent.add_subcommand("df", "Show free space on a guest's file systems");
  c.app->set_help_flag("--help", "Print this help message and exit");  // -h is --human-readable
  add_guest_options(*c.app, o->guest, false);
  c.app->add_flag("-h,--human-readable", o->human, "Sizes like 1.0G instead of 1K blocks");
  c.app->add_flag("-i,--inodes", o->inodes, "Show inodes instead of blocks");
  c.app->add_flag("--csv", o->csv, "Comma-separated output");
  c.app->add_option("--output", o->output, "Output format: human or json");
  c.run = [o, app = c.app]() -> Result<int> { return run_df(*app, *o); };
  return c;
}

}  // namespace dk::tools
