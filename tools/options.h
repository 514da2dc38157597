// Shared parsing of qemu-img style arguments: sizes with suffixes and
// "-o key=value,key2=value2" option strings.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "formats/core/error.h"

namespace dk::tools {

// qemu_strtosz: "1024", "64k", "1.5G", "2T" (suffixes B K M G T P E, any case,
// powers of 1024). Errors name `what` ("image size", ...).
Result<uint64_t> parse_size(std::string_view text, std::string_view what = "size");

// Splits "a=1,b=2" (",," is a literal comma). A key without '=' maps to "on"
// (QEMU's implicit boolean). Later -o strings are merged by the caller.
Result<std::map<std::string, std::string>> parse_option_string(std::string_view text);

// True when the option string asks for help ("help" or "?").
bool is_help_option(std::string_view text);

// QEMU's boolean spellings: on/off, yes/no, true/false.
Result<bool> parse_bool_option(std::string_view key, std::string_view value);

}  // namespace dk::tools
