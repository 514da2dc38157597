// Appliance commands for LVM, LUKS and mounted file systems: pvcreate,
// vgcreate, lvcreate, lvcreate-free, lvresize, lvremove, vgremove, pvs,
// vgs, lvs, lvs-full, vg-activate-all, cryptsetup-open/close, fstrim,
// xfs-growfs.
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "appliance/host/remote_fs.h"
#include "tools/fish/cmd_appliance.h"
#include "tools/fish/output.h"
#include "tools/fish/shell.h"

namespace dk::tools::fish {
namespace {

using nlohmann::json;

constexpr const char* kNote =
    "\n\nThis runs in the appliance (see --appliance in diskit-fish(1)).";

FishCommand cmd(std::string name, std::string params, int nargs, std::vector<OptArgSpec> optargs, std::string summary,
                std::string description, bool writes, Handler run) {
  FishCommand c = make_command(std::move(name), std::move(params), nargs, Need::Launched, std::move(summary),
                               std::move(description) + kNote, std::move(run));
  c.optargs = std::move(optargs);
  c.writes = writes;
  return c;
}

std::string device_name(Shell& sh, const std::string& name) {
  auto d = sh.guest().find(name);
  return d ? d->name : name;
}

Result<std::vector<std::string>> strings_of(const json& j) {
  if (!j.is_array()) return make_error(EIO, "the appliance sent no list");
  std::vector<std::string> out;
  for (const json& s : j)
    if (s.is_string()) out.push_back(s.get<std::string>());
  return out;
}

FishCommand list_command(const char* name, const char* summary, const char* description) {
  return cmd(name, "", 0, {}, summary, description, false, [name](Shell& sh, const Call&) -> Result<void> {
    json r = DK_TRY(appliance_call(sh, name, name, json::object(), false));
    print_strings(DK_TRY(strings_of(r)));
    return {};
  });
}

std::string field_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  return v.dump();
}

// guestfish prints an optional percentage as "%g %" or nothing.
std::string percent_text(const json& v) {
  if (!v.is_number() || v.get<double>() < 0) return "";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g %%", v.get<double>());
  return buf;
}

Result<void> lvs_full(Shell& sh) {
  json r = DK_TRY(appliance_call(sh, "lvs-full", "lvs-full", json::object(), false));
  if (!r.is_array()) return make_error(EIO, "the appliance sent no list");
  static const char* kFields[] = {"lv_name",  "lv_uuid",         "lv_attr",         "lv_major",
                                  "lv_minor", "lv_kernel_major", "lv_kernel_minor", "lv_size",
                                  "seg_count", "origin",         "snap_percent",    "copy_percent",
                                  "move_pv",  "lv_tags",         "mirror_log",      "modules"};
  std::vector<Fields> list;
  for (const json& lv : r) {
    Fields f;
    for (const char* k : kFields) {
      const json& v = lv.contains(k) ? lv[k] : json();
      bool pct = std::string(k) == "snap_percent" || std::string(k) == "copy_percent";
      f.push_back({k, pct ? percent_text(v) : field_text(v)});
    }
    list.push_back(std::move(f));
  }
  print_struct_list(list);
  return {};
}

// The key for a LUKS device: --key DEVICE:key:PASS, --keys-from-stdin, or
// typed at the terminal (not echoed), as guestfish asks for it.
Result<std::string> read_key(const std::string& device) {
  if (auto k = fish_key_for(device)) return *k;
  bool from_stdin = fish_keys_from_stdin();
  std::FILE* in = from_stdin ? stdin : std::fopen("/dev/tty", "r+");
  if (!in) return make_error(ENOKEY, "no key for " + device + ": use --key " + device + ":key:PASSPHRASE");
  std::fflush(stdout);
  std::fprintf(from_stdin ? stdout : in, "Enter key or passphrase (\"key\"): ");
  std::fflush(from_stdin ? stdout : in);
  termios old {};
  bool tty = isatty(fileno(in)) && tcgetattr(fileno(in), &old) == 0;
  if (tty) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(fileno(in), TCSAFLUSH, &quiet);
  }
  char* line = nullptr;
  size_t cap = 0;
  ssize_t n = getline(&line, &cap, in);
  if (tty) {
    tcsetattr(fileno(in), TCSAFLUSH, &old);
    std::fputc('\n', in);
  }
  std::string key = n > 0 ? std::string(line, static_cast<size_t>(n)) : std::string();
  std::free(line);
  if (in != stdin) std::fclose(in);
  if (n <= 0) return make_error(ENOKEY, "no key was given for " + device);
  if (!key.empty() && key.back() == '\n') key.pop_back();
  return key;
}

// The appliance mount behind a fish mountpoint (fstrim, xfs-growfs).
Result<int64_t> remote_mount_of(Shell& sh, std::string_view cmd_name, const std::string& path) {
  DK_TRY(ensure_appliance(sh, cmd_name));
  if (path.empty() || path[0] != '/') return make_error(EINVAL, "path must start with a / character");
  auto res = DK_TRY(sh.resolve(path));
  auto* rfs = dynamic_cast<appliance::RemoteFs*>(res.fs);
  if (!rfs) return make_error(EINVAL, "'" + path + "' is not on a file system the appliance has mounted");
  return rfs->mount_id();
}

}  // namespace

void add_appliance_lvm_commands(CommandTable& t) {
  t.add(cmd("pvcreate", "device", 1, {}, "create an LVM physical volume",
            "Makes device (a partition or whole disk) an LVM physical volume.", true,
            [](Shell& sh, const Call& c) -> Result<void> {
              DK_TRY(appliance_call(sh, "pvcreate", "pvcreate", {{"device", device_name(sh, c.args[0])}}, true));
              return {};
            }));
  t.add(cmd("vgcreate", "volgroup physvols", 2, {}, "create an LVM volume group",
            "Creates volume group volgroup from the physical volumes in the\n"
            "space-separated list physvols ('/dev/sda1 /dev/sdb1').",
            true, [](Shell& sh, const Call& c) -> Result<void> {
              json pvs = json::array();
              for (auto& p : DK_TRY(parse_string_list(c.args[1]))) pvs.push_back(device_name(sh, p));
              DK_TRY(appliance_call(sh, "vgcreate", "vgcreate", {{"volgroup", c.args[0]}, {"physvols", pvs}}, true));
              return {};
            }));
  t.add(cmd("lvcreate", "logvol volgroup mbytes", 3, {}, "create an LVM logical volume",
            "Creates logical volume logvol of mbytes megabytes in volgroup.", true,
            [](Shell& sh, const Call& c) -> Result<void> {
              json a = {{"logvol", c.args[0]}, {"volgroup", c.args[1]},
                        {"mbytes", DK_TRY(parse_integer(c.args[2], "mbytes"))}};
              DK_TRY(appliance_call(sh, "lvcreate", "lvcreate", a, true));
              return {};
            }));
  t.add(cmd("lvcreate-free", "logvol volgroup percent", 3, {}, "create an LVM logical volume in % remaining free space",
            "Creates logical volume logvol using percent % of the free space of volgroup.", true,
            [](Shell& sh, const Call& c) -> Result<void> {
              json a = {{"logvol", c.args[0]}, {"volgroup", c.args[1]},
                        {"percent", DK_TRY(parse_integer(c.args[2], "percent"))}};
              DK_TRY(appliance_call(sh, "lvcreate-free", "lvcreate-free", a, true));
              return {};
            }));
  t.add(cmd("lvresize", "device mbytes", 2, {}, "resize an LVM logical volume",
            "Resizes the logical volume device (/dev/VG/LV) to mbytes megabytes.", true,
            [](Shell& sh, const Call& c) -> Result<void> {
              json a = {{"device", c.args[0]}, {"mbytes", DK_TRY(parse_integer(c.args[1], "mbytes"))}};
              DK_TRY(appliance_call(sh, "lvresize", "lvresize", a, true));
              return {};
            }));
  t.add(cmd("lvremove", "device", 1, {}, "remove an LVM logical volume",
            "Removes the logical volume device (/dev/VG/LV), or every LV of /dev/VG.", true,
            [](Shell& sh, const Call& c) -> Result<void> {
              DK_TRY(appliance_call(sh, "lvremove", "lvremove", {{"device", c.args[0]}}, true));
              return {};
            }));
  t.add(cmd("vgremove", "vgname", 1, {}, "remove an LVM volume group",
            "Removes volume group vgname and its logical volumes.", true,
            [](Shell& sh, const Call& c) -> Result<void> {
              DK_TRY(appliance_call(sh, "vgremove", "vgremove", {{"vgname", c.args[0]}}, true));
              return {};
            }));
  t.add(cmd("vg-activate-all", "activate", 1, {}, "activate or deactivate all volume groups",
            "Activates (true) or deactivates (false) every volume group.", false,
            [](Shell& sh, const Call& c) -> Result<void> {
              DK_TRY(appliance_call(sh, "vg-activate-all", "vg-activate-all",
                                    {{"activate", DK_TRY(parse_bool(c.args[0]))}}, true));
              return {};
            }));
  t.add(list_command("pvs", "list the LVM physical volumes (PVs)",
                     "Lists the physical volumes (/dev/sda1...)."));
  t.add(list_command("vgs", "list the LVM volume groups (VGs)", "Lists the volume group names."));
  t.add(list_command("lvs", "list the LVM logical volumes (LVs)",
                     "Lists the logical volumes as /dev/VG/LV."));
  t.add(cmd("lvs-full", "", 0, {}, "list the LVM logical volumes (LVs)",
            "Lists every logical volume with lvs(8)'s fields, as guestfish's lvm_lv structs.", false,
            [](Shell& sh, const Call&) -> Result<void> { return lvs_full(sh); }));
  t.add(cmd("cryptsetup-open", "device mapname", 2, {{"readonly", OptKind::Bool}, {"crypttype", OptKind::String}},
            "open an encrypted block device",
            "Opens the LUKS (or BitLocker) device as /dev/mapper/mapname. The key comes\n"
            "from --key DEVICE:key:PASS, from stdin with --keys-from-stdin, or is asked for\n"
            "at the terminal.",
            false, [](Shell& sh, const Call& c) -> Result<void> {
              std::string dev = device_name(sh, c.args[0]);
              std::string key = DK_TRY(read_key(dev));
              json a = {{"device", dev}, {"mapname", c.args[1]}, {"key", key}};
              if (auto ro = c.opt("readonly")) a["readonly"] = DK_TRY(parse_bool(*ro));
              if (sh.read_only()) a["readonly"] = true;
              if (auto t = c.opt("crypttype")) a["crypttype"] = *t;
              DK_TRY(appliance_call(sh, "cryptsetup-open", "cryptsetup-open", a, false));
              return {};
            }));
  t.add(cmd("cryptsetup-close", "device", 1, {}, "close an encrypted device",
            "Closes /dev/mapper/NAME opened by cryptsetup-open.", false,
            [](Shell& sh, const Call& c) -> Result<void> {
              DK_TRY(appliance_call(sh, "cryptsetup-close", "cryptsetup-close", {{"device", c.args[0]}}, false));
              return {};
            }));
  t.add(cmd("fstrim", "mountpoint", 1, {{"offset", OptKind::Int64}, {"length", OptKind::Int64},
                                        {"minimumfreeextent", OptKind::Int64}},
            "trim free space in a filesystem",
            "Discards the unused blocks of the file system mounted at mountpoint.", true,
            [](Shell& sh, const Call& c) -> Result<void> {
              json a = {{"mount", DK_TRY(remote_mount_of(sh, "fstrim", c.args[0]))}};
              for (const char* k : {"offset", "length", "minimumfreeextent"})
                if (auto v = c.opt(k)) a[k] = DK_TRY(parse_integer(*v, k));
              DK_TRY(appliance_call(sh, "fstrim", "fstrim", a, false));
              return {};
            }));
  t.add(cmd("xfs-growfs", "path", 1,
            {{"datasec", OptKind::Bool}, {"logsec", OptKind::Bool}, {"rtsec", OptKind::Bool},
             {"datasize", OptKind::Int64}, {"logsize", OptKind::Int64}, {"rtsize", OptKind::Int64},
             {"rtextsize", OptKind::Int64}, {"maxpct", OptKind::Int}},
            "expand an existing XFS filesystem",
            "Grows the XFS file system mounted at path to fill its device.", true,
            [](Shell& sh, const Call& c) -> Result<void> {
              json a = {{"mount", DK_TRY(remote_mount_of(sh, "xfs-growfs", c.args[0]))}};
              for (const char* k : {"datasec", "logsec", "rtsec"})
                if (auto v = c.opt(k)) a[k] = DK_TRY(parse_bool(*v));
              for (const char* k : {"datasize", "logsize", "rtsize", "rtextsize", "maxpct"})
                if (auto v = c.opt(k)) a[k] = DK_TRY(parse_integer(*v, k));
              DK_TRY(appliance_call(sh, "xfs-growfs", "xfs-growfs", a, false));
              return {};
            }));
}

}  // namespace dk::tools::fish
