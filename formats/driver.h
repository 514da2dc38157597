// FormatDriver: the table one format fills in; registry.cc lists them all.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "formats/core/error.h"
#include "formats/layer.h"

namespace dk::fmt {

struct OpenOptions {
  bool writable = false;
  // -U: read an image another process holds (no conflicting lock check).
  bool force_share = false;
  // Open the image read-only as of this internal snapshot (id or name).
  std::optional<std::string> snapshot;
  // The format was probed, not given: raw then refuses writes to sector 0.
  bool probed = false;
  // Cache mode (qemu-img -t/-T): direct opens host files with O_DIRECT (the
  // driver then reports request_alignment() >= 512 or bounces through aligned
  // buffers); sync_writes opens them with O_DSYNC (writethrough/directsync).
  bool direct = false;
  bool sync_writes = false;
  // cache=unsafe: flush requests, and the drivers' own ordering barriers, are
  // skipped (QEMU's BDRV_O_NO_FLUSH). A crash may then lose or tear the image.
  bool no_flush = false;
  // Driver-specific open options (e.g. vmdk's allow-unsafe-extent-paths).
  std::map<std::string, std::string> extra;
};

// One -o option a driver accepts at create time (listed by `create -o help`).
struct OptionDesc {
  std::string_view name;
  std::string_view type;   // "str", "size", "bool", "num" (QEMU's QemuOptType names)
  std::string_view help;
  std::string_view default_value;  // empty: none shown
};

struct CreateSpec {
  uint64_t size = 0;
  // -o key=value options, already split; validated by the driver (unknown key = error).
  std::map<std::string, std::string> options;
  // Backing file as it is to be stored in the header, and its format.
  std::string backing_file;
  std::string backing_format;
};

struct FormatDriver {
  std::string_view name;
  // Score 0..100 for the first bytes of a file (at least 4 KiB or the whole
  // file when shorter); raw answers 1, a format that recognises its magic 100.
  int (*probe)(std::span<const std::byte> head, std::string_view filename);
  Result<std::unique_ptr<Layer>> (*open)(const std::string& path, const OpenOptions& opts);
  // Creates a new image (overwriting path).
  Result<void> (*create)(const std::string& path, const CreateSpec& spec);
  std::span<const OptionDesc> create_options;
  bool supports_backing;
};

// The driver named `name`, or nullptr.
const FormatDriver* find_driver(std::string_view name);
// All drivers, in the registry's order.
std::span<const FormatDriver* const> all_drivers();
// Probes `path` and returns the best-scoring driver (raw when nothing else matches).
Result<const FormatDriver*> probe_file(const std::string& path);

}  // namespace dk::fmt
