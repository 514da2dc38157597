// LUKS and BitLocker: cryptsetup-open / cryptsetup-close, and fstrim on a
// guest mount. The key travels in the request and reaches cryptsetup on
// its standard input, never on a command line.
#include <cerrno>
#include <string>

#include "appliance/agent/ops/common.h"

namespace dk::agent::ops {
namespace {

Result<json> op_cryptsetup_open(Context& ctx) {
  std::string dev = DK_TRY(device_arg(ctx, "device", DevKind::Any));
  std::string key = DK_TRY(str_arg(ctx, "key"));
  std::string map = DK_TRY(str_arg(ctx, "mapname"));
  if (!is_plain_name(map)) return make_error(EINVAL, "'" + map + "': not a valid mapping name");
  bool ro = DK_TRY(opt_bool(ctx, "readonly")).value_or(false);
  auto type = DK_TRY(opt_str(ctx, "crypttype"));
  std::vector<std::string> argv = {"cryptsetup", "--key-file", "-"};
  if (type) {
    if (*type != "luks" && *type != "bitlk")
      return make_error(EINVAL, "crypttype must be luks or bitlk");
    argv.insert(argv.end(), {"--type", *type});
  }
  if (ro) argv.push_back("--readonly");
  argv.insert(argv.end(), {"open", dev, map});
  DK_TRY(run_tool(ctx, argv, "cryptsetup: " + user_name(ctx, dev), key));
  return json("/dev/mapper/" + map);
}

Result<json> op_cryptsetup_close(Context& ctx) {
  std::string dev = DK_TRY(str_arg(ctx, "device"));
  if (dev.compare(0, 12, "/dev/mapper/") != 0 || !is_plain_name(dev.substr(12)))
    return make_error(EINVAL, "'" + dev + "': cryptsetup-close takes a /dev/mapper/NAME device");
  DK_TRY(run_tool(ctx, {"cryptsetup", "close", dev.substr(12)}, "cryptsetup: " + dev));
  return json(nullptr);
}

}  // namespace

DK_AGENT_OP("cryptsetup-open", op_cryptsetup_open);
DK_AGENT_OP("cryptsetup-close", op_cryptsetup_close);

}  // namespace dk::agent::ops
