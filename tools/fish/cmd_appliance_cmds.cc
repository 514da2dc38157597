// The fish commands that run in the appliance: making file systems,
// partitioning, resizing and checking (LVM and LUKS are in
// cmd_appliance_lvm.cc). Each checks its arguments as guestfish does,
// sends one agent op, and prints what guestfish prints.
#include <cstdio>
#include <string>
#include <vector>

#include "fs/probe.h"
#include "tools/fish/cmd_appliance.h"
#include "tools/fish/output.h"
#include "tools/fish/shell.h"

namespace dk::tools::fish {
namespace {

using nlohmann::json;

constexpr const char* kApplianceNote =
    "\n\nThis runs in the appliance, a small Linux VM started by the first command\n"
    "that needs it (about 1 s from its saved state; the first boot takes 10-15 s\n"
    "under TCG) and kept for the session; see\n"
    "--appliance and --no-appliance in diskit-fish(1).";

// A command run in the appliance: `nargs` positional arguments, then the
// optional name:value ones.
FishCommand appliance_command(std::string name, std::string params, int nargs, std::vector<OptArgSpec> optargs,
                              std::string summary, std::string description, bool writes, Handler run) {
  FishCommand c = make_command(std::move(name), std::move(params), nargs, Need::Launched, std::move(summary),
                               std::move(description) + kApplianceNote, std::move(run));
  c.optargs = std::move(optargs);
  c.writes = writes;
  return c;
}

// The canonical name of one of the disks' devices (/dev/vda1 -> /dev/sda1);
// other names (/dev/VG/LV) go to the appliance as typed.
std::string device_name(Shell& sh, const std::string& name) {
  auto d = sh.guest().find(name);
  return d ? d->name : name;
}

Result<json> int_value(const std::string& s, const char* what) {
  return json(DK_TRY(parse_integer(s, what)));
}

// Copies the optional arguments of `c` into `args`, typed by their spec.
Result<void> add_optargs(const FishCommand& spec, const Call& c, json& args) {
  for (const OptArgSpec& o : spec.optargs) {
    auto v = c.opt(o.name);
    if (!v) continue;
    switch (o.kind) {
      case OptKind::Bool: args[o.name] = DK_TRY(parse_bool(*v)); break;
      case OptKind::Int:
      case OptKind::Int64: args[o.name] = DK_TRY(parse_integer(*v, o.name)); break;
      default: args[o.name] = *v; break;
    }
  }
  return {};
}

// Registers a command whose op takes the positional arguments under
// `names` (devices canonicalised, integers parsed where `ints` says) and
// returns nothing to print.
struct Simple {
  const char* name;
  const char* params;
  std::vector<const char*> arg_names;
  std::vector<char> kinds;  // 'd' device, 'i' integer, 'b' boolean, 's' string
  std::vector<OptArgSpec> optargs;
  const char* summary;
  const char* description;
};

void add_simple(CommandTable& t, const Simple& s) {
  auto shared = std::make_shared<FishCommand>();
  auto run = [s, shared](Shell& sh, const Call& c) -> Result<void> {
    json args = json::object();
    for (size_t i = 0; i < s.arg_names.size(); ++i) {
      const std::string& v = c.args[i];
      switch (s.kinds[i]) {
        case 'd': args[s.arg_names[i]] = device_name(sh, v); break;
        case 'i': args[s.arg_names[i]] = DK_TRY(int_value(v, s.arg_names[i])); break;
        case 'b': args[s.arg_names[i]] = DK_TRY(parse_bool(v)); break;
        default: args[s.arg_names[i]] = v; break;
      }
    }
    DK_TRY(add_optargs(*shared, c, args));
    DK_TRY(appliance_call(sh, s.name, s.name, args, true));
    return {};
  };
  FishCommand c = appliance_command(s.name, s.params, static_cast<int>(s.arg_names.size()), s.optargs, s.summary,
                                    s.description, true, run);
  *shared = c;
  t.add(std::move(c));
}

OptArgSpec b(const char* n) { return {n, OptKind::Bool}; }
OptArgSpec i(const char* n) { return {n, OptKind::Int}; }
OptArgSpec i64(const char* n) { return {n, OptKind::Int64}; }
OptArgSpec str(const char* n) { return {n, OptKind::String}; }

}  // namespace

void add_appliance_commands(CommandTable& t) {
  add_simple(t, {"mkfs", "fstype device", {"fstype", "device"}, {'s', 'd'},
                 {i("blocksize"), str("features"), i("inode"), i("sectorsize"), str("label")},
                 "make a filesystem",
                 "Makes a file system of type fstype (ext2, ext3, ext4, xfs, btrfs, vfat,\n"
                 "exfat, ntfs) on device (a partition, a whole disk or an LV), with the\n"
                 "block size, features, inode size and label given."});
  add_simple(t, {"mke2fs", "device", {"device"}, {'d'},
                 {i64("blockscount"), i64("blocksize"), i64("fragsize"), i64("blockspergroup"),
                  i64("numberofgroups"), i64("inodesize"), i64("bytesperinode"), str("journaldevice"),
                  str("label"), str("lastmounteddir"), str("creatoros"), str("fstype"), str("usagetype"),
                  str("uuid"), b("forcecreate"), b("writesbcandgrouponly"), b("lazyitableinit"),
                  b("lazyjournalinit"), b("testfs"), b("discard"), b("extent"), b("filetype"), b("flexbg"),
                  b("hasjournal"), b("journaldev"), b("largefile"), b("quota"), b("resizeinode"),
                  b("sparsesuper"), b("uninitbg")},
                 "create an ext2/ext3/ext4 filesystem on device",
                 "Runs mke2fs on device with the options given (their names and meanings\n"
                 "follow mke2fs(8): blocksize is -b, label -L, hasjournal:false removes the\n"
                 "journal, ...)."});
  add_simple(t, {"mkswap", "device", {"device"}, {'d'}, {str("label"), str("uuid")}, "create a swap partition",
                 "Makes a Linux swap area on device."});
  add_simple(t, {"part-init", "device parttype", {"device", "parttype"}, {'d', 's'}, {},
                 "create an empty partition table",
                 "Creates an empty partition table of type parttype (gpt or msdos; efi and\n"
                 "mbr are accepted too) on the whole disk device."});
  add_simple(t, {"part-add", "device prlogex startsect endsect", {"device", "prlogex", "startsect", "endsect"},
                 {'d', 's', 'i', 'i'}, {}, "add a partition to the device",
                 "Adds a partition from sector startsect to endsect (inclusive; negative counts\n"
                 "from the end of the disk). prlogex is primary, logical or extended (p, l, e);\n"
                 "on GPT it becomes the partition name, as with parted."});
  add_simple(t, {"part-del", "device partnum", {"device", "partnum"}, {'d', 'i'}, {}, "delete a partition",
                 "Deletes partition partnum."});
  add_simple(t, {"part-disk", "device parttype", {"device", "parttype"}, {'d', 's'}, {},
                 "partition whole disk with a single primary partition",
                 "Creates a partition table of type parttype with one partition covering the\n"
                 "disk, aligned to 128 sectors, leaving the last 128 sectors free."});
  add_simple(t, {"part-resize", "device partnum endsect", {"device", "partnum", "endsect"}, {'d', 'i', 'i'}, {},
                 "resize a partition", "Moves the end of partition partnum to sector endsect."});
  add_simple(t, {"part-set-bootable", "device partnum bootable", {"device", "partnum", "bootable"},
                 {'d', 'i', 'b'}, {}, "make a partition bootable",
                 "Sets or clears the bootable flag (MBR) or the legacy BIOS bootable attribute (GPT)."});
  add_simple(t, {"part-set-name", "device partnum name", {"device", "partnum", "name"}, {'d', 'i', 's'}, {},
                 "set partition name", "Sets the GPT partition name."});
  add_simple(t, {"part-set-mbr-id", "device partnum idbyte", {"device", "partnum", "idbyte"}, {'d', 'i', 'i'}, {},
                 "set the MBR type byte (ID byte) of a partition",
                 "Sets the MBR partition type byte (0x83, 0x8e...)."});
  add_simple(t, {"part-set-gpt-type", "device partnum guid", {"device", "partnum", "guid"}, {'d', 'i', 's'}, {},
                 "set the type GUID of a GPT partition", "Sets the partition type GUID."});
  add_simple(t, {"resize2fs", "device", {"device"}, {'d'}, {}, "resize an ext2, ext3 or ext4 filesystem",
                 "Grows or shrinks the file system to fill the device (run e2fsck-f first if\n"
                 "resize2fs asks for it)."});
  t.add(appliance_command("resize2fs-size", "device size", 2, {}, "resize an ext2, ext3 or ext4 filesystem (with size)",
                          "Resizes the file system to size bytes.", true,
                          [](Shell& sh, const Call& c) -> Result<void> {
                            json a = {{"device", device_name(sh, c.args[0])},
                                      {"size", DK_TRY(parse_integer(c.args[1], "size"))}};
                            DK_TRY(appliance_call(sh, "resize2fs-size", "resize2fs", a, true));
                            return {};
                          }));
  add_simple(t, {"e2fsck", "device", {"device"}, {'d'}, {b("correct"), b("forceall")},
                 "check an ext2/ext3 filesystem",
                 "Checks the file system (e2fsck -f). correct:true repairs what is safe to\n"
                 "repair (-p); forceall:true answers yes to every question (-y). Fails when\n"
                 "errors are left."});
  t.add(appliance_command("e2fsck-f", "device", 1, {}, "check an ext2/ext3 filesystem",
                          "e2fsck -p -f: checks and repairs what is safe to repair.", true,
                          [](Shell& sh, const Call& c) -> Result<void> {
                            json a = {{"device", device_name(sh, c.args[0])}, {"correct", true}};
                            DK_TRY(appliance_call(sh, "e2fsck-f", "e2fsck", a, true));
                            return {};
                          }));
  t.add(appliance_command("fsck", "fstype device", 2, {}, "run the filesystem checker",
                          "Runs the checker for fstype on device, repairing what is safe (-a), and\n"
                          "prints its exit status (0: clean, 1: errors corrected, 4: errors left...).",
                          true, [](Shell& sh, const Call& c) -> Result<void> {
                            json a = {{"fstype", c.args[0]}, {"device", device_name(sh, c.args[1])}};
                            json r = DK_TRY(appliance_call(sh, "fsck", "fsck", a, true));
                            print_int(r.is_number_integer() ? r.get<int64_t>() : -1);
                            return {};
                          }));
  add_simple(t, {"zerofree", "device", {"device"}, {'d'}, {}, "zero unused inodes and disk blocks on ext2/3 filesystem",
                 "Zeroes the unused blocks of an unmounted ext2/3/4 file system, so the image\n"
                 "can be sparsified."});
  add_simple(t, {"zero", "device", {"device"}, {'d'}, {}, "write zeroes to the device",
                 "Zeroes the first blocks of device (partition tables, superblocks); not a\n"
                 "secure erase."});
  add_simple(t, {"zero-device", "device", {"device"}, {'d'}, {}, "write zeroes to an entire device",
                 "Zeroes the whole device."});
  t.add(appliance_command("set-label", "mountable label", 2, {}, "set filesystem label",
                          "Sets the file system label with the file system's own tool (e2label,\n"
                          "xfs_admin, btrfs, fatlabel, ntfslabel, tune.exfat, swaplabel).",
                          true, [](Shell& sh, const Call& c) -> Result<void> {
                            fs::BlockDevice d = DK_TRY(sh.guest().find(c.args[0]));
                            auto layer = DK_TRY(sh.guest().open_device(d));
                            fs::ProbeResult p = DK_TRY(fs::probe_filesystem(*layer));
                            layer.reset();
                            if (!p.found()) return make_error(EINVAL, d.name + ": no file system found");
                            json a = {{"device", d.name}, {"fstype", p.type}, {"label", c.args[1]}};
                            DK_TRY(appliance_call(sh, "set-label", "set-label", a, true));
                            return {};
                          }));
  add_appliance_lvm_commands(t);
}

}  // namespace dk::tools::fish
