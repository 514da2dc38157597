// Opening images and their backing chains, and QEMU's chain-wide block
// status (qemu-img.c's get_block_status()).
#include "formats/chain.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <utility>

namespace dk::fmt {

namespace {

// QEMU's path_has_protocol: a ':' before any '/' ("nbd://h", "json:{...}").
bool has_protocol(const std::string& p) {
  size_t colon = p.find(':');
  if (colon == std::string::npos) return false;
  size_t slash = p.find('/');
  return slash == std::string::npos || colon < slash;
}

// The host path to open for a resolved backing name ("file:x" is x).
std::string host_path(const std::string& name) {
  if (name.rfind("file:", 0) == 0) return name.substr(5);
  return name;
}

struct FileId {
  dev_t dev;
  ino_t ino;
  bool operator<(const FileId& o) const { return std::tie(dev, ino) < std::tie(o.dev, o.ino); }
};

std::optional<FileId> file_id(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) < 0) return std::nullopt;
  return FileId{st.st_dev, st.st_ino};
}

// Opens one backing file of `overlay` read-only.
Result<std::unique_ptr<Layer>> open_backing(const Layer& overlay, const std::string& path,
                                            const std::string& format, const ChainOptions& opts) {
  OpenOptions bo;
  bo.writable = false;
  bo.force_share = opts.open.force_share;
  bo.direct = opts.open.direct;
  std::string fmt = format;
  if (fmt.empty()) {
    const FormatDriver* d = DK_TRY(probe_file(path));
    fmt = std::string(d->name);
    // QEMU 7.2 still probes such backing files; raw is the dangerous
    // answer (a guest could write a header into it), so say so.
    if (d->name == "raw") {
      std::string msg = "backing file format of '" + path + "' not specified, probed as raw";
      if (opts.warn)
        opts.warn(msg);
      else
        std::fprintf(stderr, "diskit: warning: %s\n", msg.c_str());
    }
  }
  return open_image(path, fmt, bo);
}

std::map<std::string, std::string>& default_extra() {
  static std::map<std::string, std::string> m;
  return m;
}

}  // namespace

void set_default_open_option(const std::string& key, const std::string& value) {
  default_extra()[key] = value;
}

Result<std::unique_ptr<Layer>> open_image(const std::string& path, const std::string& format,
                                          const OpenOptions& opts) {
  OpenOptions o = opts;
  // Entries the caller set win over the process-wide defaults.
  for (const auto& [k, v] : default_extra()) o.extra.emplace(k, v);
  const FormatDriver* d = nullptr;
  if (format.empty()) {
    d = DK_TRY(probe_file(path));
    o.probed = d->name == "raw";
  } else {
    d = find_driver(format);
    if (!d) return make_error(EINVAL, "Unknown driver '" + format + "'");
  }
  return d->open(path, o);
}

std::string resolve_backing_path(const std::string& overlay, const std::string& backing) {
  if (backing.empty() || backing[0] == '/' || has_protocol(backing)) return backing;
  std::string base = host_path(overlay);
  size_t slash = base.rfind('/');
  if (slash == std::string::npos) return backing;
  return base.substr(0, slash + 1) + backing;
}

Result<std::unique_ptr<Layer>> open_chain(const std::string& path, const ChainOptions& opts) {
  std::unique_ptr<Layer> top = DK_TRY(open_image(path, opts.format, opts.open));
  if (opts.no_backing) return top;
  std::set<FileId> seen;
  if (auto id = file_id(path)) seen.insert(*id);
  Layer* cur = top.get();
  for (int layers = 1; !cur->backing_filename().empty(); layers++) {
    const std::string name = cur->backing_filename();
    if (layers >= kMaxChainDepth)
      return make_error(EINVAL, "backing chain of '" + path + "' is deeper than " +
                                    std::to_string(kMaxChainDepth));
    if (has_protocol(name) && name.rfind("file:", 0) != 0)
      return make_error(ENOTSUP, "could not open backing file '" + name + "': protocol not supported");
    const std::string resolved = host_path(resolve_backing_path(cur->filename(), name));
    if (auto id = file_id(resolved)) {
      if (!seen.insert(*id).second) return make_error(ELOOP, "backing file loop: '" + name + "'");
    }
    std::string fmt = cur->backing_format();
    if (fmt.empty() && layers == 1) fmt = opts.backing_format;
    auto b = open_backing(*cur, resolved, fmt, opts);
    if (!b) return make_error(b.error().with_context("could not open backing file '" + name + "'"));
    cur->set_backing(std::move(*b));
    cur = cur->backing();
  }
  return top;
}

Result<MapEntry> chain_block_status(Layer& top, uint64_t off, uint64_t len) {
  Layer* layer = &top;
  int depth = 0;
  for (;;) {
    Extent st = DK_TRY(layer->block_status(off, len));
    len = st.length;
    bool zero = st.zero();
    if (!st.allocated()) {
      // bdrv_co_block_status: an unallocated range of a format with backing
      // support reads as zero when there is no backing file, or when it lies
      // past the end of a shorter backing file. The range is not "present".
      Layer* below = layer->backing();
      const FormatDriver* d = find_driver(layer->format_name());
      bool supports_backing = d ? d->supports_backing : true;
      if (!below) {
        if (supports_backing) zero = true;
      } else if (off >= below->size()) {
        zero = true;
      } else {
        len = std::min(len, below->size() - off);
        layer = below;
        depth++;
        continue;
      }
    }
    MapEntry e;
    e.start = off;
    e.length = len;
    e.depth = depth;
    e.present = st.allocated();
    e.zero = zero;
    e.data = st.data();
    if (st.offset_valid()) {
      e.offset = st.offset;
      e.file = st.file;
    }
    return e;
  }
}

}  // namespace dk::fmt
