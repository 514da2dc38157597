// Partition tables: part-init, part-add, part-del, part-disk, part-resize,
// part-set-name, part-set-bootable, part-set-gpt-type, part-set-mbr-id,
// part-list, part-get-parttype. parted does the work, with the arguments
// libguestfs' daemon gives it (so a GPT partition made by part-add is
// named "primary", as guestfish's are); sgdisk and sfdisk set the GPT type
// and the MBR byte, which parted cannot.
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <string>
#include <vector>

#include "appliance/agent/ops/common.h"

namespace dk::agent::ops {
namespace {

// libguestfs' accepted table names and their parted spellings.
Result<std::string> parttype_arg(Context& ctx) {
  std::string t = DK_TRY(str_arg(ctx, "parttype"));
  static const char* kParted[] = {"aix", "amiga", "bsd", "dasd", "dvh", "gpt", "mac", "msdos", "pc98", "sun"};
  for (const char* p : kParted)
    if (t == p) return t;
  if (t == "rdb") return std::string("amiga");
  if (t == "efi") return std::string("gpt");
  if (t == "mbr") return std::string("msdos");
  return make_error(EINVAL, "unknown partition type: common choices are \"gpt\" and \"msdos\"");
}

// parted -s -- DEV ARGS...; its errors go to stdout or stderr depending on
// the version, last_line() takes whichever says something.
Result<CommandResult> parted(Context& ctx, const std::string& dev, std::vector<std::string> args) {
  std::vector<std::string> argv = {"parted", "-s", "--", dev};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_tool(ctx, argv, "parted: " + user_name(ctx, dev));
}

Result<json> op_part_init(Context& ctx) {
  std::string dev = DK_TRY(device_arg(ctx, "device", DevKind::Disk));
  std::string type = DK_TRY(parttype_arg(ctx));
  DK_TRY(parted(ctx, dev, {"mklabel", type}));
  return json(nullptr);
}

Result<json> op_part_add(Context& ctx) {
  std::string dev = DK_TRY(device_arg(ctx, "device", DevKind::Disk));
  std::string prlogex = DK_TRY(str_arg(ctx, "prlogex"));
  if (prlogex == "p") prlogex = "primary";
  if (prlogex == "l") prlogex = "logical";
  if (prlogex == "e") prlogex = "extended";
  if (prlogex != "primary" && prlogex != "logical" && prlogex != "extended")
    return make_error(EINVAL, "unknown partition type: " + prlogex +
                                  ": this should be \"primary\", \"logical\" or \"extended\"");
  int64_t start = DK_TRY(int_arg(ctx, "startsect"));
  int64_t end = DK_TRY(int_arg(ctx, "endsect"));  // negative: from the end of the disk
  if (start < 0) return make_error(EINVAL, "startsect cannot be negative");
  DK_TRY(parted(ctx, dev, {"mkpart", prlogex, std::to_string(start) + "s", std::to_string(end) + "s"}));
  return json(nullptr);
}

Result<json> op_part_del(Context& ctx) {
  std::string dev = DK_TRY(device_arg(ctx, "device", DevKind::Disk));
  int n = DK_TRY(partnum_arg(ctx, "partnum"));
  DK_TRY(parted(ctx, dev, {"rm", std::to_string(n)}));
  return json(nullptr);
}

Result<json> op_part_disk(Context& ctx) {
  std::string dev = DK_TRY(device_arg(ctx, "device", DevKind::Disk));
  std::string type = DK_TRY(parttype_arg(ctx));
  // libguestfs aligns the one partition to 128 sectors and leaves the last
  // 128 free (room for the backup GPT).
  DK_TRY(parted(ctx, dev, {"mklabel", type, "mkpart", type == "gpt" ? "p1" : "primary", "128s", "-128s"}));
  return json(nullptr);
}

Result<json> op_part_resize(Context& ctx) {
  std::string dev = DK_TRY(device_arg(ctx, "device", DevKind::Disk));
  int n = DK_TRY(partnum_arg(ctx, "partnum"));
  int64_t end = DK_TRY(int_arg(ctx, "endsect"));
  // parted asks before shrinking even with -s; ---pretend-input-tty lets
  // us answer, as libguestfs does.
  std::vector<std::string> argv = {"parted", "---pretend-input-tty", dev, "resizepart", std::to_string(n),
                                   std::to_string(end) + "s"};
  CommandResult r = DK_TRY(run_command(argv, "Yes\n"));
  if (r.status != 0) return make_error(EIO, "parted: " + user_name(ctx, dev) + ": " + last_line(r));
  return json(nullptr);
}

Result<json> op_part_set_name(Context& ctx) {
  std::string dev = DK_TRY(device_arg(ctx, "device", DevKind::Disk));
  int n = DK_TRY(partnum_arg(ctx, "partnum"));
  std::string name = DK_TRY(str_arg(ctx, "name"));
  // sgdisk takes the name as it is (parted would split it at spaces).
  DK_TRY(run_tool(ctx, {"sgdisk", "-c", std::to_string(n) + ":" + name, dev}, "sgdisk: " + user_name(ctx, dev)));
  return json(nullptr);
}

Result<json> op_part_set_bootable(Context& ctx) {
  std::string dev = DK_TRY(device_arg(ctx, "device", DevKind::Disk));
  int n = DK_TRY(partnum_arg(ctx, "partnum"));
  auto b = DK_TRY(opt_bool(ctx, "bootable"));
  if (!b) return make_error(EINVAL, "argument 'bootable' must be true or false");
  DK_TRY(parted(ctx, dev, {"set", std::to_string(n), "boot", *b ? "on" : "off"}));
  return json(nullptr);
}

bool is_guid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

Result<json> op_part_set_gpt_type(Context& ctx) {
  std::string dev = DK_TRY(device_arg(ctx, "device", DevKind::Disk));
  int n = DK_TRY(partnum_arg(ctx, "partnum"));
  std::string guid = DK_TRY(str_arg(ctx, "guid"));
  if (!is_guid(guid)) return make_error(EINVAL, "guid: parameter is not a valid GUID: " + guid);
  DK_TRY(run_tool(ctx, {"sgdisk", "-t", std::to_string(n) + ":" + guid, dev}, "sgdisk: " + user_name(ctx, dev)));
  return json(nullptr);
}

Result<json> op_part_set_mbr_id(Context& ctx) {
  std::string dev = DK_TRY(device_arg(ctx, "device", DevKind::Disk));
  int n = DK_TRY(partnum_arg(ctx, "partnum"));
  int64_t id = DK_TRY(int_arg(ctx, "idbyte"));
  if (id < 0 || id > 255) return make_error(EINVAL, "idbyte must be between 0 and 255");
  char hex[8];
  std::snprintf(hex, sizeof hex, "%" PRIx64, id);
  DK_TRY(run_tool(ctx, {"sfdisk", "--part-type", dev, std::to_string(n), hex}, "sfdisk: " + user_name(ctx, dev)));
  return json(nullptr);
}

// parted -m output: "BYT;", the device line, then one line per partition:
// "1:1048576B:2097151B:1048576B:ext4:name:flags;".
Result<std::vector<std::string>> parted_print(Context& ctx, const std::string& dev) {
  CommandResult r =
      DK_TRY(run_tool(ctx, {"parted", "-m", "-s", "--", dev, "unit", "b", "print"}, "parted print: " + user_name(ctx, dev)));
  std::vector<std::string> lines = lines_of(r.out);
  if (lines.empty() || lines[0] != "BYT;")
    return make_error(EIO, "unknown signature, expected \"BYT;\" as first line of the output: " +
                               (lines.empty() ? std::string("(signature was null)") : lines[0]));
  if (lines.size() < 2) return make_error(EIO, "parted didn't return a line describing the device");
  return lines;
}

// Field n of a parted -m line (':'- or ';'-separated).
std::string field(const std::string& line, int n) {
  size_t i = 0;
  for (; n > 0 && i < line.size(); --n) {
    size_t j = line.find_first_of(":;", i);
    if (j == std::string::npos) return {};
    i = j + 1;
  }
  size_t j = line.find_first_of(":;", i);
  return line.substr(i, j == std::string::npos ? std::string::npos : j - i);
}

Result<json> op_part_get_parttype(Context& ctx) {
  std::string dev = DK_TRY(device_arg(ctx, "device", DevKind::Any));
  auto lines = DK_TRY(parted_print(ctx, dev));
  std::string t = field(lines[1], 5);
  if (t == "loop" || t == "unknown") return make_error(EINVAL, "not a partitioned device");
  return json(t);
}

Result<json> op_part_list(Context& ctx) {
  std::string dev = DK_TRY(device_arg(ctx, "device", DevKind::Any));
  auto lines = DK_TRY(parted_print(ctx, dev));
  if (field(lines[1], 5) == "loop") return json::array();
  json out = json::array();
  for (size_t i = 2; i < lines.size(); ++i) {
    int num = 0;
    int64_t start = 0, end = 0, size = 0;
    if (std::sscanf(lines[i].c_str(), "%d:%" SCNi64 "B:%" SCNi64 "B:%" SCNi64 "B", &num, &start, &end, &size) != 4)
      return make_error(EIO, "could not parse row from output of parted print command: " + lines[i]);
    out.push_back({{"part_num", num}, {"part_start", start}, {"part_end", end}, {"part_size", size}});
  }
  return out;
}

}  // namespace

DK_AGENT_OP("part-init", op_part_init);
DK_AGENT_OP("part-add", op_part_add);
DK_AGENT_OP("part-del", op_part_del);
DK_AGENT_OP("part-disk", op_part_disk);
DK_AGENT_OP("part-resize", op_part_resize);
DK_AGENT_OP("part-set-name", op_part_set_name);
DK_AGENT_OP("part-set-bootable", op_part_set_bootable);
DK_AGENT_OP("part-set-gpt-type", op_part_set_gpt_type);
DK_AGENT_OP("part-set-mbr-id", op_part_set_mbr_id);
DK_AGENT_OP("part-get-parttype", op_part_get_parttype);
DK_AGENT_OP("part-list", op_part_list);

}  // namespace dk::agent::ops
