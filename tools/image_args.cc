#include "tools/image_args.h"

namespace dk::tools {

Result<OutputFormat> parse_output_format(std::string_view text) {
  if (text == "human") return OutputFormat::Human;
  if (text == "json") return OutputFormat::Json;
  return make_error(EINVAL, "--output must be used with human or json as argument.");
}

Result<void> apply_cache_mode(std::string_view mode, std::string_view what, fmt::OpenOptions& opts) {
  // QEMU: none = O_DIRECT; writethrough/directsync also flush every write;
  // writeback and unsafe use the page cache (unsafe also skips flushes,
  // which changes nothing for an offline tool's correctness).
  if (mode == "none" || mode == "off") {
    opts.direct = true;
    opts.sync_writes = false;
  } else if (mode == "writeback" || mode == "unsafe") {
    opts.direct = false;
    opts.sync_writes = false;
  } else if (mode == "writethrough") {
    opts.direct = false;
    opts.sync_writes = true;
  } else if (mode == "directsync") {
    opts.direct = true;
    opts.sync_writes = true;
  } else {
    return make_error(EINVAL, "Invalid " + std::string(what) + ": " + std::string(mode));
  }
  return {};
}

Error open_error(const std::string& filename, const Error& err) {
  return Error{err.code, "Could not open '" + filename + "': " + err.message};
}

}  // namespace dk::tools
