// Devices and partitions: run/launch, list-devices, list-partitions,
// list-filesystems, vfs-*, blockdev-*, part-* (reading; changing a
// partition table or making a file system runs in the appliance).
#include <cinttypes>
#include <cstdio>

#include "fs/probe.h"
#include "tools/fish/cmd_appliance.h"
#include "tools/fish/output.h"
#include "tools/fish/shell.h"

namespace dk::tools::fish {
namespace {

Result<fs::ProbeResult> probe(Shell& sh, const fs::BlockDevice& dev) {
  auto layer = DK_TRY(sh.guest().open_device(dev));
  return DK_TRY_CTX(fs::probe_filesystem(*layer), "'" + dev.name + "'");
}

Result<fs::ProbeResult> probe_named(Shell& sh, const std::string& name) {
  auto dev = sh.guest().find(name);
  if (!dev && dev.error().code == ENOENT && appliance_running()) {
    // An LV or a mapping: only the appliance sees it; its head is probed
    // here, as the disks are.
    return appliance_probe(name);
  }
  if (!dev) return make_error(dev.error());
  return probe(sh, *dev);
}

// Microsoft reserved/LDM/storage-spaces GPT types hold no file system.
bool is_container_gpt_type(const std::string& t) {
  return t == "5808C8AA-7E8F-42E0-85D2-E1E90434CFB3" || t == "AF9B60A0-1431-4F62-BC68-3311714A69AD" ||
         t == "E3C9E316-0B5C-4DB8-817D-F92DF00215AE" || t == "CADDEBF1-4400-4DE8-B103-12117DCF3CCF";
}

std::vector<std::string> names_of(const std::vector<fs::BlockDevice>& devs) {
  std::vector<std::string> out;
  for (auto& d : devs) out.push_back(d.name);
  return out;
}

Result<fs::BlockDevice> whole_disk(Shell& sh, const std::string& name) {
  fs::BlockDevice dev = DK_TRY(sh.guest().find(name));
  if (dev.partnum != 0) return make_error(EINVAL, "'" + name + "' is a partition, not a whole device");
  return dev;
}

Result<const fs::Partition*> partition_of(Shell& sh, const Call& call) {
  fs::BlockDevice dev = DK_TRY(whole_disk(sh, call.args[0]));
  int64_t n = DK_TRY(parse_integer(call.args[1], "partnum"));
  for (const fs::Partition& p : sh.guest().table(dev.disk).partitions)
    if (p.number == n) return &p;
  return make_error(ENOENT, dev.name + ": partition number " + std::to_string(n) + " not found");
}

Result<fs::BlockDevice> partition_device(Shell& sh, const std::string& name) {
  fs::BlockDevice dev = DK_TRY(sh.guest().find(name));
  if (dev.partnum == 0) return make_error(EINVAL, "device name is not a partition");
  return dev;
}

Result<void> list_filesystems(Shell& sh) {
  std::vector<fs::BlockDevice> cands;
  for (auto& d : sh.guest().devices())
    if (sh.guest().table(d.disk).partitions.empty()) cands.push_back(d);
  for (auto& p : sh.guest().partitions()) {
    if (p.part->extended || is_container_gpt_type(p.part->type_guid)) continue;
    cands.push_back(p);
  }
  std::vector<std::pair<std::string, std::string>> rows;
  for (auto& d : cands) {
    fs::ProbeResult p = DK_TRY(probe(sh, d));
    std::string t = p.found() ? p.type : "unknown";
    if (t.size() > 7 && t.compare(t.size() - 7, 7, "_member") == 0) continue;
    if (t == "crypto_LUKS" || t == "BitLocker") continue;
    rows.push_back({d.name, t});
  }
  if (appliance_running()) {
    // The LVs come after the partitions, as in guestfish.
    auto lvs = DK_TRY(appliance_call(sh, "list-filesystems", "lvs", nlohmann::json::object(), false));
    for (const auto& lv : lvs) {
      if (!lv.is_string()) continue;
      auto t = DK_TRY(appliance_call(sh, "list-filesystems", "vfs-type", {{"device", lv}}, false));
      std::string type = t.is_string() && !t.get<std::string>().empty() ? t.get<std::string>() : "unknown";
      rows.push_back({lv.get<std::string>(), type});
    }
  }
  print_table(rows);
  return {};
}

constexpr const char* kDeviceNote =
    "Disks are /dev/sda, /dev/sdb ... in the order of -a; /dev/vdX and /dev/hdX\n"
    "name the same devices.";

}  // namespace

void add_device_commands(CommandTable& t) {
  auto launch = make_command(
      "launch", "", 0, Need::Nothing, "launch the backend",
      "Opens the disks added with -a (read-write unless --ro). guestfish boots its\n"
      "appliance here; diskit fish reads the images directly, so this is instant.\n"
      "It must be called once before device and file commands (-i and -m do it).",
      [](Shell& sh, const Call&) -> Result<void> {
        DK_TRY(sh.launch());
        if (appliance_policy() == AppliancePolicy::Always) DK_TRY(ensure_appliance(sh, "launch"));
        return {};
      });
  launch.aliases = {"run"};
  t.add(launch);

  t.add(make_command("list-devices", "", 0, Need::Launched, "list the block devices",
                     std::string("Lists the whole disks.\n\n") + kDeviceNote,
                     [](Shell& sh, const Call&) -> Result<void> {
                       print_strings(names_of(sh.guest().devices()));
                       return {};
                     }));
  t.add(make_command("list-partitions", "", 0, Need::Launched, "list the partitions",
                     "Lists every partition of every disk (an MBR extended partition included).",
                     [](Shell& sh, const Call&) -> Result<void> {
                       print_strings(names_of(sh.guest().partitions()));
                       return {};
                     }));
  t.add(make_command("list-filesystems", "", 0, Need::Launched, "list filesystems",
                     "Lists the devices that may hold a file system, with the file system type\n"
                     "(\"unknown\" when none is recognised): whole disks without partitions, then\n"
                     "partitions. Extended partitions and LVM/RAID members are left out.",
                     [](Shell& sh, const Call&) -> Result<void> { return list_filesystems(sh); }));
  t.add(make_command("vfs-type", "mountable", 1, Need::Launched,
                     "get the Linux VFS type corresponding to a mounted device",
                     "Prints the file system type blkid reports (ext4, vfat, iso9660, swap...), or an\n"
                     "empty line when none is recognised.",
                     [](Shell& sh, const Call& c) -> Result<void> {
                       print_string(DK_TRY(probe_named(sh, c.args[0])).type);
                       return {};
                     }));
  t.add(make_command("vfs-label", "mountable", 1, Need::Launched, "get the filesystem label",
                     "Prints the file system label (an empty line when it has none).",
                     [](Shell& sh, const Call& c) -> Result<void> {
                       print_string(DK_TRY(probe_named(sh, c.args[0])).label);
                       return {};
                     }));
  auto uuid = make_command("vfs-uuid", "mountable", 1, Need::Launched, "get the filesystem UUID",
                           "Prints the file system UUID as blkid spells it (an empty line when it has none).",
                           [](Shell& sh, const Call& c) -> Result<void> {
                             print_string(DK_TRY(probe_named(sh, c.args[0])).uuid);
                             return {};
                           });
  uuid.aliases = {"get-uuid"};
  t.add(uuid);
  t.add(make_command("blockdev-getsize64", "device", 1, Need::Launched, "get total size of device in bytes",
                     "Prints the size of the device in bytes.", [](Shell& sh, const Call& c) -> Result<void> {
                       print_int(static_cast<int64_t>(DK_TRY(sh.guest().find(c.args[0])).size));
                       return {};
                     }));
  t.add(make_command("blockdev-getsz", "device", 1, Need::Launched,
                     "get total size of device in 512-byte sectors",
                     "Prints the size of the device in 512-byte sectors.",
                     [](Shell& sh, const Call& c) -> Result<void> {
                       print_int(static_cast<int64_t>(DK_TRY(sh.guest().find(c.args[0])).size / 512));
                       return {};
                     }));
  t.add(make_command("blockdev-getss", "device", 1, Need::Launched, "get sectorsize of block device",
                     "Prints the logical sector size (always 512).", [](Shell& sh, const Call& c) -> Result<void> {
                       DK_TRY(sh.guest().find(c.args[0]));
                       print_int(512);
                       return {};
                     }));
  t.add(make_command("blockdev-getro", "device", 1, Need::Launched, "is block device set to read-only",
                     "Prints true when the disks were opened read-only.",
                     [](Shell& sh, const Call& c) -> Result<void> {
                       DK_TRY(sh.guest().find(c.args[0]));
                       print_bool(sh.read_only());
                       return {};
                     }));
  t.add(make_command("part-get-parttype", "device", 1, Need::Launched, "get the partition table type",
                     "Prints msdos or gpt; an error when the disk has no partition table.",
                     [](Shell& sh, const Call& c) -> Result<void> {
                       fs::BlockDevice d = DK_TRY(whole_disk(sh, c.args[0]));
                       std::string type = sh.guest().table(d.disk).type_name();
                       if (type.empty()) return make_error(EINVAL, d.name + ": unrecognised disk label");
                       print_string(type);
                       return {};
                     }));
  t.add(make_command(
      "part-list", "device", 1, Need::Launched, "list partitions on a device",
      "Lists the partitions of the disk: part_num, part_start and part_end (first and\n"
      "last byte) and part_size, in bytes.",
      [](Shell& sh, const Call& c) -> Result<void> {
        fs::BlockDevice d = DK_TRY(whole_disk(sh, c.args[0]));
        const fs::PartitionTable& tab = sh.guest().table(d.disk);
        if (tab.kind == fs::TableKind::None) return make_error(EINVAL, d.name + ": unrecognised disk label");
        std::vector<Fields> list;
        for (const fs::Partition& p : tab.partitions)
          list.push_back({{"part_num", std::to_string(p.number)},
                          {"part_start", std::to_string(p.offset)},
                          {"part_end", std::to_string(p.offset + p.size - 1)},
                          {"part_size", std::to_string(p.size)}});
        print_struct_list(list);
        return {};
      }));
  t.add(make_command("part-get-mbr-id", "device partnum", 2, Need::Launched,
                     "get the MBR type byte (ID byte) from a partition",
                     "Prints the MBR partition type byte in hexadecimal (0x83).",
                     [](Shell& sh, const Call& c) -> Result<void> {
                       fs::BlockDevice d = DK_TRY(whole_disk(sh, c.args[0]));
                       if (sh.guest().table(d.disk).kind != fs::TableKind::Mbr)
                         return make_error(EINVAL, "part-get-mbr-id can only be used on MBR partitions");
                       const fs::Partition* p = DK_TRY(partition_of(sh, c));
                       std::printf("0x%x\n", p->mbr_type);
                       return {};
                     }));
  t.add(make_command("part-get-bootable", "device partnum", 2, Need::Launched,
                     "return true if a partition is bootable",
                     "Prints the MBR bootable flag (GPT: the legacy BIOS bootable attribute).",
                     [](Shell& sh, const Call& c) -> Result<void> {
                       const fs::Partition* p = DK_TRY(partition_of(sh, c));
                       print_bool(p->bootable || (p->attributes & 4));
                       return {};
                     }));
  auto gpt_only = [](const char* name, const char* summary, std::string fs::Partition::*field) {
    return make_command(name, "device partnum", 2, Need::Launched, summary,
                        "GPT only: prints the field of the partition entry.",
                        [name, field](Shell& sh, const Call& c) -> Result<void> {
                          fs::BlockDevice d = DK_TRY(whole_disk(sh, c.args[0]));
                          if (sh.guest().table(d.disk).kind != fs::TableKind::Gpt)
                            return make_error(EINVAL, std::string(name) + " can only be used on GUID Partition Tables");
                          const fs::Partition* p = DK_TRY(partition_of(sh, c));
                          print_string(p->*field);
                          return {};
                        });
  };
  t.add(gpt_only("part-get-name", "get partition name", &fs::Partition::name));
  t.add(gpt_only("part-get-gpt-type", "get the type GUID of a GPT partition", &fs::Partition::type_guid));
  t.add(gpt_only("part-get-gpt-guid", "get the GUID of a GPT partition", &fs::Partition::part_guid));
  t.add(make_command("part-to-dev", "partition", 1, Need::Launched, "convert partition name to device name",
                     "/dev/sda1 -> /dev/sda.", [](Shell& sh, const Call& c) -> Result<void> {
                       fs::BlockDevice d = DK_TRY(partition_device(sh, c.args[0]));
                       print_string(fs::disk_name(d.disk));
                       return {};
                     }));
  t.add(make_command("part-to-partnum", "partition", 1, Need::Launched,
                     "convert partition name to partition number", "/dev/sda1 -> 1.",
                     [](Shell& sh, const Call& c) -> Result<void> {
                       fs::BlockDevice d = DK_TRY(partition_device(sh, c.args[0]));
                       print_int(d.partnum);
                       return {};
                     }));
  t.add(make_command("canonical-device-name", "device", 1, Need::Launched, "return canonical device name",
                     "/dev/vda1 and /dev/hda1 -> /dev/sda1.", [](Shell& sh, const Call& c) -> Result<void> {
                       auto d = sh.guest().find(c.args[0]);
                       print_string(d ? d->name : c.args[0]);
                       return {};
                     }));

  // Changing partition tables, LVM and making file systems need a kernel:
  // they run in the appliance (tools/fish/cmd_appliance*.cc).
  add_appliance_commands(t);
}

}  // namespace dk::tools::fish
