// diskit filesystems: virt-filesystems without a VM — the file systems (and
// optionally partitions and block devices) of a guest's disks.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fs/disk.h"
#include "fs/probe.h"
#include "fs/mount.h"
#include "tools/command.h"
#include "tools/fish/cmd_appliance.h"
#include "tools/guest_args.h"
#include "tools/guest_output.h"
#include "tools/image_args.h"

namespace dk::tools {
namespace {

struct FilesystemsOptions {
  GuestOptions guest;
  bool long_mode = false;
  bool human = false;
  bool uuid = false;
  bool extra = false;
  bool no_title = false;
  bool csv = false;
  bool parts = false;
  bool blkdevs = false;
  bool lvs = false, vgs = false, pvs = false;
  bool all = false;
  bool filesystems = false;
  std::string output = "human";
};

struct FsRow {
  fs::BlockDevice dev;
  fs::ProbeResult probe;
  bool remote = false;  // an LV, reached through the appliance
};

// virt-filesystems' Size of a file system: mounted read-only, the
// statvfs total (blocks * bsize: what the file system can hold); the
// device's size when it cannot be mounted.
uint64_t filesystem_size(fs::Guest& g, const FsRow& r) {
  if (!fs::can_mount(r.probe.type) || (r.remote && !fs::fallback_mounter())) return r.dev.size;
  fs::MountOptions mo;
  mo.warn = [](const std::string&) {};
  auto f = r.remote ? fs::fallback_mounter()(g, r.dev.name, "", mo) : fs::open_filesystem(g, r.dev, mo);
  if (!f) return r.dev.size;
  auto st = (*f)->statvfs();
  return st ? st->blocks * st->bsize : r.dev.size;
}

// list-filesystems' rules: extended partitions, LVM PVs and md members are
// containers, not file systems; swap and unknown only with --extra.
// *has_pv: whether a candidate is an LVM physical volume.
Result<std::vector<FsRow>> list_filesystems(fs::Guest& g, bool extra, bool* has_pv) {
  std::vector<FsRow> rows;
  for (const fs::BlockDevice& d : g.filesystem_candidates()) {
    if (d.part && d.part->extended) continue;
    auto layer = DK_TRY(g.open_device(d));
    fs::ProbeResult p = DK_TRY_CTX(fs::probe_filesystem(*layer), "'" + d.name + "'");
    if (p.type == "LVM2_member") *has_pv = true;
    if (p.type == "LVM2_member" || p.type == "linux_raid_member") continue;
    if (!p.found()) p.type = "unknown";
    if (!extra && (p.type == "swap" || p.type == "unknown")) continue;
    rows.push_back({d, std::move(p)});
  }
  // LVs, through the appliance, after the partitions and sorted, as
  // list-filesystems orders them.
  auto lvs = DK_TRY(fs::extra_devices(g, *has_pv));
  std::sort(lvs.begin(), lvs.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  for (fs::ExtraDevice& e : lvs) {
    if (!e.probe.found()) e.probe.type = "unknown";
    if (!extra && (e.probe.type == "swap" || e.probe.type == "unknown")) continue;
    fs::BlockDevice d;
    d.name = e.name;
    d.size = e.size;
    rows.push_back({d, std::move(e.probe), true});
  }
  return rows;
}

using Cells = std::vector<std::optional<std::string>>;

Result<int> run_filesystems(const CLI::App& app, FilesystemsOptions& o) {
  OutputFormat fmt = DK_TRY(parse_output_format(o.output));
  if (o.human && o.csv) return make_error(EINVAL, "you cannot use -h and --csv options together.");
  bool want_fs = o.filesystems || o.extra || o.all || (!o.parts && !o.blkdevs && !o.lvs && !o.vgs && !o.pvs);
  bool want_lvs = o.lvs || o.all, want_vgs = o.vgs || o.all, want_pvs = o.pvs || o.all;
  bool want_parts = o.parts || o.all;
  bool want_devs = o.blkdevs || o.all;
  auto guest = DK_TRY(open_guest(app, o.guest, false));
  std::vector<FsRow> fss;
  bool has_pv = false;
  if (want_fs) fss = DK_TRY(list_filesystems(*guest, o.extra || o.all, &has_pv));

  if (fmt == OutputFormat::Json) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (auto& r : fss)
      out.push_back({{"device", r.dev.name}, {"type", r.probe.type}, {"label", r.probe.label},
                     {"uuid", r.probe.uuid}, {"size", r.dev.size}});
    std::printf("%s\n", out.dump(4).c_str());
    return 0;
  }

  // Columns, as virt-filesystems chooses them.
  bool c_type = o.long_mode, c_size = o.long_mode;
  bool c_vfs = o.long_mode && want_fs, c_label = c_vfs;
  // virt-filesystems always has a Parent column in --long mode (empty
  // lists print as "-"), an MBR column only with partitions.
  bool c_parent = o.long_mode, c_mbr = o.long_mode && want_parts;
  bool c_uuid = o.long_mode && o.uuid;
  auto row = [&](const std::string& name, const char* type, std::optional<std::string> vfs,
                 std::optional<std::string> label, std::optional<std::string> mbr, uint64_t size,
                 std::optional<std::string> parent, std::optional<std::string> uuid) {
    Cells c{name};
    if (c_type) c.push_back(type);
    if (c_vfs) c.push_back(vfs);
    if (c_label) c.push_back(label);
    if (c_mbr) c.push_back(mbr);
    if (c_size) c.push_back(o.human ? human_size(size) : std::to_string(size));
    if (c_parent) c.push_back(parent);
    if (c_uuid) c.push_back(uuid);
    return c;
  };
  std::vector<Cells> rows;
  if (o.long_mode && !o.no_title) {
    Cells t{"Name"};
    for (auto [on, name] : {std::pair{c_type, "Type"}, {c_vfs, "VFS"}, {c_label, "Label"}, {c_mbr, "MBR"},
                            {c_size, "Size"}, {c_parent, "Parent"}, {c_uuid, "UUID"}})
      if (on) t.push_back(name);
    rows.push_back(std::move(t));
  }
  for (auto& r : fss)
    rows.push_back(row(r.dev.name, "filesystem", r.probe.type, r.probe.label, std::nullopt,
                       c_size ? filesystem_size(*guest, r) : r.dev.size, std::string(), r.probe.uuid));
  if ((want_lvs || want_vgs || want_pvs) && (want_fs ? has_pv : fs::has_lvm_member(*guest))) {
    // LVM, as the appliance's lvm reports it.
    auto layout = DK_TRY(fish::tool_appliance_call("to read LVM volumes", "lvm-layout", nlohmann::json::object()));
    auto num = [](const nlohmann::json& j, const char* k) {
      return j.is_object() && j.contains(k) && j[k].is_number_unsigned() ? j[k].get<uint64_t>() : uint64_t{0};
    };
    auto str = [](const nlohmann::json& j, const char* k) {
      return j.is_object() && j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string();
    };
    // The agent is not trusted: any member may be missing or mistyped.
    auto list = [](const nlohmann::json& j, const char* k) {
      std::vector<nlohmann::json> out;
      if (j.is_object() && j.contains(k) && j[k].is_array())
        for (const auto& e : j[k]) out.push_back(e);
      return out;
    };
    if (want_lvs)
      for (const auto& lv : list(layout, "lvs")) {
        std::string name = str(lv, "name");
        rows.push_back(row(name, "lv", std::nullopt, std::nullopt, std::nullopt, num(lv, "size"),
                           name.substr(0, name.rfind('/')), str(lv, "uuid")));
      }
    const std::vector<nlohmann::json> pvs = list(layout, "pvs");
    if (want_vgs)
      for (const auto& vg : list(layout, "vgs")) {
        std::string parents;
        for (const auto& u : list(vg, "pv_uuids")) {
          std::string pv = u.is_string() ? u.get<std::string>() : std::string();
          for (const auto& p : pvs)
            if (str(p, "uuid") == pv) pv = str(p, "name");
          parents += (parents.empty() ? "" : ",") + pv;
        }
        rows.push_back(row(str(vg, "name"), "vg", std::nullopt, std::nullopt, std::nullopt, num(vg, "size"),
                           parents, str(vg, "uuid")));
      }
    if (want_pvs)
      for (const auto& p : pvs)
        rows.push_back(row(str(p, "name"), "pv", std::nullopt, std::nullopt, std::nullopt, num(p, "size"),
                           std::string(), str(p, "uuid")));
  }
  if (want_parts) {
    for (auto& p : guest->partitions()) {
      std::optional<std::string> mbr;
      if (guest->table(p.disk).kind == fs::TableKind::Mbr) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "%02x", p.part->mbr_type);
        mbr = buf;
      }
      rows.push_back(row(p.name, "partition", std::nullopt, std::nullopt, mbr, p.size,
                         fs::disk_name(p.disk), std::nullopt));
    }
  }
  if (want_devs)
    for (auto& d : guest->devices())
      rows.push_back(row(d.name, "device", std::nullopt, std::nullopt, std::nullopt, d.size,
                         std::string(), std::nullopt));
  if (o.csv) {
    for (auto& r : rows) {
      std::string line;
      for (size_t i = 0; i < r.size(); ++i) {
        if (i) line += ',';
        if (r[i]) line += csv_field(*r[i]);
      }
      std::printf("%s\n", line.c_str());
    }
  } else {
    std::fputs(format_columns(rows).c_str(), stdout);
  }
  return 0;
}

}  // namespace

Command add_filesystems(CLI::App& parent) {
  auto o = std::make_shared<FilesystemsOptions>();
  Command c;
  c.app = parent.add_subcommand("filesystems", "List the file systems, partitions and disks of a guest");
  c.app->set_help_flag("--help", "Print this help message and exit");  // -h is --human-readable
  add_guest_options(*c.app, o->guest, false);
  c.app->add_flag("-l,--long", o->long_mode, "Show type, VFS type, label and size columns");
  c.app->add_flag("-h,--human-readable", o->human, "Sizes like 1.0G instead of bytes");
  c.app->add_flag("--uuid,--uuids", o->uuid, "Add a UUID column (with --long)");
  c.app->add_flag("--extra", o->extra, "Also list swap and unknown file systems");
  c.app->add_flag("--filesystems", o->filesystems, "List file systems (the default)");
  c.app->add_flag("--parts,--partitions", o->parts, "List partitions");
  c.app->add_flag("--blkdevs,--block-devices", o->blkdevs, "List whole disks");
  c.app->add_flag("--lvs,--logvols,--logical-volumes", o->lvs, "List LVM logical volumes");
  c.app->add_flag("--vgs,--volgroups,--volume-groups", o->vgs, "List LVM volume groups");
  c.app->add_flag("--pvs,--physvols,--physical-volumes", o->pvs, "List LVM physical volumes");
  c.app->add_flag("--all", o->all, "List everything");
  c.app->add_flag("--no-title", o->no_title, "No heading row in --long output");
  c.app->add_flag("--csv", o->csv, "Comma-separated output");
  c.app->add_option("--output", o->output, "Output format: human or json");
  c.run = [o, app = c.app]() -> Result<int> { return run_filesystems(*app, *o); };
  return c;
}

}  // namespace dk::tools
