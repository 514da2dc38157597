// LVM: pvcreate, vgcreate, lvcreate, lvcreate-free, lvresize, lvremove,
// vgremove, pvs, vgs, lvs, lvs-full. The appliance has no udev, so every
// command tells LVM to make its device nodes itself; lists name devices as
// users know them (/dev/sda1, /dev/VG/LV).
#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "appliance/agent/ops/common.h"

namespace dk::agent::ops {
namespace {

// No udev in the appliance: LVM creates /dev/mapper/* and /dev/VG/LV
// itself and lists devices by scanning /dev. Locking is local.
constexpr const char* kLvmConfig =
    "activation { udev_sync = 0 udev_rules = 0 verify_udev_operations = 1 } "
    "devices { obtain_device_list_from_udev = 0 use_devicesfile = 0 } "
    "global { use_lvmetad = 0 }";

Result<CommandResult> lvm(Context& ctx, std::vector<std::string> args, std::string_view what) {
  std::vector<std::string> argv = {"lvm", args[0], "--config", kLvmConfig};
  argv.insert(argv.end(), args.begin() + 1, args.end());
  return run_tool(ctx, argv, what);
}

Result<std::string> vg_arg(Context& ctx, const char* name) {
  std::string vg = DK_TRY(str_arg(ctx, name));
  if (!is_plain_name(vg)) return make_error(EINVAL, "'" + vg + "': not a valid volume group name");
  return vg;
}

Result<std::string> lv_name_arg(Context& ctx, const char* name) {
  std::string lv = DK_TRY(str_arg(ctx, name));
  if (!is_plain_name(lv)) return make_error(EINVAL, "'" + lv + "': not a valid logical volume name");
  return lv;
}

Result<json> op_pvcreate(Context& ctx) {
  std::string dev = DK_TRY(device_arg(ctx, "device", DevKind::Any));
  DK_TRY(lvm(ctx, {"pvcreate", "--force", "--yes", dev}, "pvcreate: " + user_name(ctx, dev)));
  return json(nullptr);
}

Result<json> op_vgcreate(Context& ctx) {
  std::string vg = DK_TRY(vg_arg(ctx, "volgroup"));
  const json& a = ctx.args();
  auto it = a.find("physvols");
  if (it == a.end() || !it->is_array() || it->empty())
    return make_error(EINVAL, "argument 'physvols' must be a non-empty list of devices");
  std::vector<std::string> args = {"vgcreate", "--yes", vg};
  for (const json& pv : *it) {
    if (!pv.is_string()) return make_error(EINVAL, "argument 'physvols' must be a list of strings");
    args.push_back(DK_TRY(check_device(ctx, pv.get<std::string>(), DevKind::Any)));
  }
  DK_TRY(lvm(ctx, args, "vgcreate: " + vg));
  return json(nullptr);
}

Result<json> op_lvcreate(Context& ctx) {
  std::string lv = DK_TRY(lv_name_arg(ctx, "logvol"));
  std::string vg = DK_TRY(vg_arg(ctx, "volgroup"));
  int64_t mb = DK_TRY(int_arg(ctx, "mbytes"));
  if (mb <= 0) return make_error(EINVAL, "mbytes must be > 0");
  DK_TRY(lvm(ctx, {"lvcreate", "--yes", "-L", std::to_string(mb) + "m", "-n", lv, vg}, "lvcreate: " + lv));
  return json(nullptr);
}

Result<json> op_lvcreate_free(Context& ctx) {
  std::string lv = DK_TRY(lv_name_arg(ctx, "logvol"));
  std::string vg = DK_TRY(vg_arg(ctx, "volgroup"));
  int64_t pct = DK_TRY(int_arg(ctx, "percent"));
  if (pct < 0 || pct > 100) return make_error(EINVAL, "percentage must be [0..100] (was " + std::to_string(pct) + ")");
  DK_TRY(lvm(ctx, {"lvcreate", "--yes", "-l", std::to_string(pct) + "%FREE", "-n", lv, vg}, "lvcreate: " + lv));
  return json(nullptr);
}

// An LV argument: /dev/VG/LV (or its /dev/mapper name) that exists.
Result<std::string> lv_device_arg(Context& ctx, const char* name) {
  std::string user = DK_TRY(str_arg(ctx, name));
  if (ctx.guest_device(user)) return make_error(EINVAL, "'" + user + "' is not a logical volume");
  return check_device(ctx, user, DevKind::Any);
}

Result<json> op_lvresize(Context& ctx) {
  std::string dev = DK_TRY(lv_device_arg(ctx, "device"));
  int64_t mb = DK_TRY(int_arg(ctx, "mbytes"));
  if (mb <= 0) return make_error(EINVAL, "mbytes must be > 0");
  DK_TRY(lvm(ctx, {"lvresize", "--force", "-L", std::to_string(mb) + "m", dev}, "lvresize: " + user_name(ctx, dev)));
  return json(nullptr);
}

Result<json> op_lvremove(Context& ctx) {
  // An LV, or /dev/VG for every LV of the group (as libguestfs allows).
  std::string user = DK_TRY(str_arg(ctx, "device"));
  std::string target;
  if (user.compare(0, 5, "/dev/") == 0 && is_plain_name(user.substr(5)))
    target = user.substr(5);
  else
    target = DK_TRY(lv_device_arg(ctx, "device"));
  DK_TRY(lvm(ctx, {"lvremove", "-f", target}, "lvremove: " + user));
  return json(nullptr);
}

Result<json> op_vgremove(Context& ctx) {
  std::string vg = DK_TRY(vg_arg(ctx, "vgname"));
  DK_TRY(lvm(ctx, {"vgremove", "-f", vg}, "vgremove: " + vg));
  return json(nullptr);
}

Result<json> op_vg_activate_all(Context& ctx) {
  bool on = DK_TRY(opt_bool(ctx, "activate")).value_or(true);
  DK_TRY(lvm(ctx, {"vgchange", "-a", on ? "y" : "n", "--sysinit"}, "vgchange"));
  DK_TRY(lvm(ctx, {"vgmknodes"}, "vgmknodes"));
  return json(nullptr);
}

Result<std::vector<std::string>> report(Context& ctx, const char* cmd, const char* fields) {
  CommandResult r = DK_TRY(lvm(ctx, {cmd, "--noheadings", "--separator", ":", "-o", fields}, cmd));
  std::vector<std::string> out;
  for (auto& l : lines_of(r.out)) out.push_back(trim(l));
  return out;
}

Result<json> op_pvs(Context& ctx) {
  json out = json::array();
  for (auto& l : DK_TRY(report(ctx, "pvs", "pv_name"))) out.push_back(user_name(ctx, l));
  return out;
}

Result<json> op_vgs(Context& ctx) {
  json out = json::array();
  for (auto& l : DK_TRY(report(ctx, "vgs", "vg_name"))) out.push_back(l);
  return out;
}

Result<json> op_lvs(Context& ctx) {
  // Thin pools and hidden LVs ([name]) hold no file system; libguestfs
  // leaves them out.
  std::vector<std::string> names;
  for (auto& l : DK_TRY(report(ctx, "lvs", "vg_name,lv_name,lv_attr"))) {
    size_t a = l.find(':'), b = l.find(':', a == std::string::npos ? a : a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string vg = l.substr(0, a), lv = l.substr(a + 1, b - a - 1), attr = l.substr(b + 1);
    if (lv.empty() || lv[0] == '[' || (!attr.empty() && attr[0] == 't')) continue;
    names.push_back("/dev/" + vg + "/" + lv);
  }
  std::sort(names.begin(), names.end());
  return json(names);
}

// "-1" or "" for a missing percentage; libguestfs stores -1 then.
double percent_of(const std::string& s) {
  if (s.empty()) return -1;
  try {
    return std::stod(s);
  } catch (...) {
    return -1;
  }
}

int64_t int_of(const std::string& s) {
  try {
    return s.empty() ? 0 : std::stoll(s);
  } catch (...) {
    return 0;
  }
}

// Rows of `cmd -o fields` in bytes, split at '|' (which LVM allows in no
// name).
Result<std::vector<std::vector<std::string>>> report_rows(Context& ctx, const char* cmd, const char* fields,
                                                          size_t nfields) {
  CommandResult r = DK_TRY(lvm(ctx,
                               {cmd, "--noheadings", "--unbuffered", "--nosuffix", "--units", "b", "--separator",
                                "|", "-o", fields},
                               cmd));
  std::vector<std::vector<std::string>> out;
  for (auto& line : lines_of(r.out)) {
    std::vector<std::string> f;
    std::string l = trim(line);
    for (size_t i = 0;;) {
      size_t j = l.find('|', i);
      f.push_back(trim(l.substr(i, j == std::string::npos ? std::string::npos : j - i)));
      if (j == std::string::npos) break;
      i = j + 1;
    }
    if (f.size() != nfields) return make_error(EIO, std::string(cmd) + ": unexpected output line: " + l);
    out.push_back(std::move(f));
  }
  return out;
}

std::string strip_dashes(const std::string& s) {
  std::string out;
  for (char c : s)
    if (c != '-') out += c;
  return out;
}

// lvm-layout: what virt-filesystems --lvs --vgs --pvs shows. LVs as lvs
// lists them (sorted, no hidden or thin-pool LVs) with size and UUID (as
// LVM prints it); VGs with size, UUID and their PVs; PVs with size and
// UUID (VG and PV UUIDs without dashes, as libguestfs' *-full calls).
Result<json> op_lvm_layout(Context& ctx) {
  json lvs = json::array(), vgs = json::array(), pvs = json::array();
  auto lv_rows = DK_TRY(report_rows(ctx, "lvs", "vg_name,lv_name,lv_attr,lv_size,lv_uuid", 5));
  std::sort(lv_rows.begin(), lv_rows.end(), [](const auto& a, const auto& b) {
    return "/dev/" + a[0] + "/" + a[1] < "/dev/" + b[0] + "/" + b[1];
  });
  for (const auto& f : lv_rows) {
    if (f[1].empty() || f[1][0] == '[' || (!f[2].empty() && f[2][0] == 't')) continue;
    lvs.push_back({{"name", "/dev/" + f[0] + "/" + f[1]}, {"size", int_of(f[3])}, {"uuid", f[4]}});
  }
  // One row per (VG, PV): a VG's PVs are its rows' pv_uuid.
  for (const auto& f : DK_TRY(report_rows(ctx, "vgs", "vg_name,vg_size,vg_uuid,pv_uuid", 4))) {
    if (vgs.empty() || vgs.back()["name"] != "/dev/" + f[0])
      vgs.push_back({{"name", "/dev/" + f[0]}, {"size", int_of(f[1])}, {"uuid", strip_dashes(f[2])},
                     {"pv_uuids", json::array()}});
    vgs.back()["pv_uuids"].push_back(strip_dashes(f[3]));
  }
  for (const auto& f : DK_TRY(report_rows(ctx, "pvs", "pv_name,pv_size,pv_uuid", 3)))
    pvs.push_back({{"name", user_name(ctx, f[0])}, {"size", int_of(f[1])}, {"uuid", strip_dashes(f[2])}});
  return json{{"lvs", lvs}, {"vgs", vgs}, {"pvs", pvs}};
}

// lvs escapes control characters in --separator, so the separator is '|',
// which LVM allows in neither names nor tags.
Result<json> op_lvs_full(Context& ctx) {
  static const char* kFields =
      "lv_name,lv_uuid,lv_attr,lv_major,lv_minor,lv_kernel_major,lv_kernel_minor,lv_size,seg_count,origin,"
      "snap_percent,copy_percent,move_pv,lv_tags,mirror_log,modules";
  CommandResult r = DK_TRY(lvm(ctx,
                               {"lvs", "--noheadings", "--unbuffered", "--nosuffix", "--units", "b", "--separator",
                                "|", "-o", kFields},
                               "lvs"));
  json out = json::array();
  for (auto& line : lines_of(r.out)) {
    std::vector<std::string> f;
    size_t i = 0;
    std::string l = trim(line);
    while (true) {
      size_t j = l.find('|', i);
      f.push_back(trim(l.substr(i, j == std::string::npos ? std::string::npos : j - i)));
      if (j == std::string::npos) break;
      i = j + 1;
    }
    if (f.size() != 16) return make_error(EIO, "lvs: unexpected output line: " + l);
    std::string uuid;
    for (char c : f[1])
      if (c != '-') uuid += c;
    out.push_back({{"lv_name", f[0]},           {"lv_uuid", uuid},
                   {"lv_attr", f[2]},           {"lv_major", int_of(f[3])},
                   {"lv_minor", int_of(f[4])},  {"lv_kernel_major", int_of(f[5])},
                   {"lv_kernel_minor", int_of(f[6])}, {"lv_size", int_of(f[7])},
                   {"seg_count", int_of(f[8])}, {"origin", f[9]},
                   {"snap_percent", percent_of(f[10])}, {"copy_percent", percent_of(f[11])},
                   {"move_pv", f[12]},          {"lv_tags", f[13]},
                   {"mirror_log", f[14]},       {"modules", f[15]}});
  }
  return out;
}

}  // namespace

DK_AGENT_OP("pvcreate", op_pvcreate);
DK_AGENT_OP("vgcreate", op_vgcreate);
DK_AGENT_OP("lvcreate", op_lvcreate);
DK_AGENT_OP("lvcreate-free", op_lvcreate_free);
DK_AGENT_OP("lvresize", op_lvresize);
DK_AGENT_OP("lvremove", op_lvremove);
DK_AGENT_OP("vgremove", op_vgremove);
DK_AGENT_OP("vg-activate-all", op_vg_activate_all);
DK_AGENT_OP("pvs", op_pvs);
DK_AGENT_OP("vgs", op_vgs);
DK_AGENT_OP("lvs", op_lvs);
DK_AGENT_OP("lvs-full", op_lvs_full);
DK_AGENT_OP("lvm-layout", op_lvm_layout);

}  // namespace dk::agent::ops
