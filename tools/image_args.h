// Option helpers shared by the image commands (qemu-img style spellings).
#pragma once

#include <string>
#include <string_view>

#include "formats/core/error.h"
#include "formats/driver.h"

namespace dk::tools {

enum class OutputFormat : uint8_t { Human, Json };

// --output=human|json; QEMU's message otherwise.
Result<OutputFormat> parse_output_format(std::string_view text);

// -t/-T cache modes (none, writeback, writethrough, directsync, unsafe)
// applied to OpenOptions; `what` names the option in the error
// ("source cache option").
Result<void> apply_cache_mode(std::string_view mode, std::string_view what, fmt::OpenOptions& opts);

// A Result's error with "Could not open 'FILE': " in front, as qemu-img words it.
Error open_error(const std::string& filename, const Error& err);

}  // namespace dk::tools
