// Helpers shared by the guest-side op handlers: argument checking (every
// device name a request carries goes through one function, so a request
// cannot reach a device or file the user did not attach), running a tool
// and turning its failure into one error line, and translating the guest's
// device names back to the ones users see (/dev/vda1 -> /dev/sda1).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "appliance/agent/op.h"
#include "formats/core/error.h"

namespace dk::agent::ops {

using json = nlohmann::json;

// A required string argument; EINVAL naming it when missing or not a string.
Result<std::string> str_arg(Context& ctx, const char* name);
// An optional string / integer / boolean argument (nullopt when absent);
// EINVAL when present with the wrong JSON type.
Result<std::optional<std::string>> opt_str(Context& ctx, const char* name);
Result<std::optional<int64_t>> opt_int(Context& ctx, const char* name);
Result<std::optional<bool>> opt_bool(Context& ctx, const char* name);
// A required integer argument.
Result<int64_t> int_arg(Context& ctx, const char* name);

// Which device names an argument may hold.
enum class DevKind : uint8_t {
  Disk,       // a whole attached disk: /dev/sda
  Partition,  // a partition of an attached disk: /dev/sda1
  Any,        // disk, partition, LVM LV (/dev/VG/LV) or /dev/mapper/NAME
};

// The guest path of the device named by argument `name`, checked against
// `kind`. User names (/dev/sdX, /dev/vdX, /dev/hdX) go through
// ctx.guest_device(); LVs and mapper names must be existing block devices
// with plain names (no "..", no extra slashes). Anything else is EINVAL.
Result<std::string> device_arg(Context& ctx, const char* name, DevKind kind);
// Same for a name that is not an argument of the request.
Result<std::string> check_device(Context& ctx, const std::string& user, DevKind kind);

// The user's name for a guest device (/dev/vda1 -> /dev/sda1,
// /dev/mapper/vg-lv -> /dev/vg/lv); the name itself when it has no other.
std::string user_name(Context& ctx, const std::string& guest);

// A partition number argument (1..4096).
Result<int> partnum_arg(Context& ctx, const char* name);

// Runs argv[0] with stdin; a non-zero exit status is an error (EIO, or the
// errno the tool's message names) reading "<what>: <the tool's last
// stderr line>". Returns the finished command otherwise.
Result<CommandResult> run_tool(Context& ctx, const std::vector<std::string>& argv, std::string_view what,
                               const std::string& input = {});

// The last non-empty line of a tool's stderr (or stdout when stderr says
// nothing, as parted 1.x did).
std::string last_line(const CommandResult& r);

// Splits text into lines, dropping empty ones.
std::vector<std::string> lines_of(const std::string& text);
std::string trim(std::string_view s);

// A name that is safe to pass to a tool as a single argument naming a
// volume group, logical volume or mapping: [A-Za-z0-9+_.-], not starting
// with '-' or '.', at most 127 bytes.
bool is_plain_name(std::string_view s);

}  // namespace dk::agent::ops
