// Opening images and backing chains, and block status across a chain.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "formats/core/error.h"
#include "formats/driver.h"
#include "formats/layer.h"

namespace dk::fmt {

inline constexpr int kMaxChainDepth = 64;

struct ChainOptions {
  std::string format;   // -f; empty: probe
  OpenOptions open;     // for the top layer; backing layers are read-only, same force_share
  bool no_backing = false;  // open only the top layer
  // Format of the first backing file when the header does not name one (-F).
  std::string backing_format;
  // Receives one-line warnings (a backing file probed as raw); when empty
  // they go to stderr as "diskit: warning: ...".
  std::function<void(const std::string&)> warn;
};

// Adds a process-wide default for OpenOptions::extra: every later
// open_image() (top layers and backing files) sees key=value unless the
// caller's options already set that key. Not thread-safe; call it while
// parsing the command line, before opening images.
void set_default_open_option(const std::string& key, const std::string& value);

// Opens one image file with the given (or probed) format; the defaults of
// set_default_open_option() are merged into opts.extra.
Result<std::unique_ptr<Layer>> open_image(const std::string& path, const std::string& format,
                                          const OpenOptions& opts);

// Opens `path` and its whole backing chain (depth <= 64, loops refused,
// relative backing names resolved against the overlay's directory). The
// returned top layer owns the rest through Layer::backing().
Result<std::unique_ptr<Layer>> open_chain(const std::string& path, const ChainOptions& opts);

// QEMU's rule: an absolute backing name is used as is; a relative one is
// relative to the directory of the overlay file (unless it is a protocol URL).
std::string resolve_backing_path(const std::string& overlay, const std::string& backing);

// One entry of `qemu-img map` (get_block_status() in qemu-img.c).
struct MapEntry {
  uint64_t start = 0;
  uint64_t length = 0;
  int depth = 0;
  bool present = false;
  bool zero = false;
  bool data = false;
  std::optional<uint64_t> offset;
  std::string file;
};

// Block status of the chain starting at `top`, walking down while a layer is
// unallocated, with QEMU's rules (past the end of a shorter backing: zero).
Result<MapEntry> chain_block_status(Layer& top, uint64_t off, uint64_t len);

}  // namespace dk::fmt
