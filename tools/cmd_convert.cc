// diskit convert: qemu-img 7.2's `convert` (same options, checks, messages
// and exit codes). The copying itself is formats/convert (convert_image).
#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "formats/chain.h"
#include "formats/convert/convert.h"
#include "formats/driver.h"
#include "tools/command.h"
#include "tools/options.h"
#include "tools/progress.h"

namespace dk::tools {

namespace {

struct ConvertArgs {
  std::vector<std::string> objects;
  bool image_opts = false, target_image_opts = false;
  std::string fmt, out_fmt;
  std::vector<std::string> options;
  bool compress = false, progress = false, quiet = false, skip_create = false;
  std::optional<std::string> sparse;
  std::optional<std::string> backing, backing_fmt;
  std::optional<std::string> snapshot_param, snapshot_id;
  std::string cache = "unsafe", src_cache = "writeback";
  std::optional<std::string> coroutines, rate;
  bool out_of_order = false, force_share = false, copy_range = false;
  bool target_is_zero = false, salvage = false, bitmaps = false;
  std::vector<std::string> files;
};

// Target cache mode: what OpenOptions get and whether convert flushes at the end.
struct CacheMode {
  bool direct = false, sync_writes = false, flush = false;
};

Result<CacheMode> parse_cache(std::string_view mode, std::string_view what) {
  if (mode == "unsafe") return CacheMode{false, false, false};
  if (mode == "writeback") return CacheMode{false, false, true};
  if (mode == "none" || mode == "off") return CacheMode{true, false, true};
  if (mode == "writethrough") return CacheMode{false, true, true};
  if (mode == "directsync") return CacheMode{true, true, true};
  return make_error(EINVAL, "Invalid " + std::string(what) + ": " + std::string(mode));
}

Error open_error(const std::string& filename, const Error& err) {
  if (err.message.starts_with("Could not open")) return err;
  return Error{err.code, "Could not open '" + filename + "': " + err.message};
}

// qemu_opts_print_help: "  name=<type>" padded to 24 columns, " - help", sorted.
void print_option_help(const fmt::FormatDriver& drv) {
  std::vector<std::string> lines;
  for (const fmt::OptionDesc& d : drv.create_options) {
    std::string type = d.type == "bool" ? "bool (on/off)" : std::string(d.type);
    std::string line = "  " + std::string(d.name) + "=<" + type + ">";
    if (!d.help.empty()) {
      if (line.size() < 24) line.append(24 - line.size(), ' ');
      line += " - " + std::string(d.help);
    }
    lines.push_back(std::move(line));
  }
  std::sort(lines.begin(), lines.end());
  if (lines.empty()) {
    std::printf("No options.\n");
    return;
  }
  std::printf("Supported options:\n");
  for (const std::string& l : lines) std::printf("%s\n", l.c_str());
}

// Formats whose drivers accept compressed writes (qemu's
// block_driver_can_compress); the engine still reports ENOTSUP cleanly.
bool can_compress(std::string_view fmt) { return fmt == "qcow2" || fmt == "qcow" || fmt == "vmdk"; }

// The checks qemu-img does before opening anything, in its order.
Result<void> check_flags(const ConvertArgs& a, bool explicit_sparse) {
  if (!a.objects.empty()) return make_error(ENOTSUP, "--object is not supported");
  if (a.image_opts || a.target_image_opts) return make_error(ENOTSUP, "--image-opts is not supported");
  if (a.compress && a.copy_range) return make_error(EINVAL, "Cannot enable copy offloading when -c is used");
  if (explicit_sparse && a.copy_range) return make_error(EINVAL, "Cannot enable copy offloading when -S is used");
  if (a.copy_range && a.salvage) return make_error(EINVAL, "Cannot use copy offloading in salvaging mode");
  if (a.skip_create && !a.options.empty())
    return make_error(EINVAL, "-o has no effect when skipping image creation");
  if (a.target_is_zero && !a.skip_create) return make_error(EINVAL, "--target-is-zero requires use of -n flag");
  return {};
}

Result<uint64_t> parse_sparse(const std::optional<std::string>& text) {
  if (!text) return 4096;
  auto v = parse_size(*text, "buffer size for sparse output");
  if (!v) return make_error(EINVAL, "Invalid buffer size for sparse output specified");
  if (*v % 512 || *v > (16u << 20))
    return make_error(EINVAL,
                      "Invalid buffer size for sparse output specified. Valid sizes are multiples of 512 up to "
                      "16777216. Select 0 to disable sparse detection (fully allocates output).");
  return *v;
}

// -l: "snapshot.id=X,snapshot.name=Y" or a plain id-or-name; -s ID.
Result<std::optional<std::string>> parse_snapshot(const ConvertArgs& a) {
  if (a.snapshot_param) {
    const std::string& p = *a.snapshot_param;
    if (!p.starts_with("snapshot.")) return std::optional<std::string>(p);
    auto kv = parse_option_string(p);
    if (!kv) return make_error(EINVAL, "Failed in parsing snapshot param '" + p + "'");
    std::optional<std::string> id, name;
    for (const auto& [k, v] : *kv) {
      if (k == "snapshot.id")
        id = v;
      else if (k == "snapshot.name")
        name = v;
      else
        return make_error(EINVAL, "Failed in parsing snapshot param '" + p + "'");
    }
    if (id) return id;
    return name;
  }
  if (a.snapshot_id) return std::optional<std::string>(*a.snapshot_id);
  return std::optional<std::string>();
}

struct Sources {
  std::vector<std::unique_ptr<fmt::Layer>> layers;
  uint64_t total = 0;
};

Result<Sources> open_sources(const ConvertArgs& a, const std::vector<std::string>& names, const CacheMode& cache,
                             const std::optional<std::string>& snapshot) {
  Sources s;
  for (const std::string& name : names) {
    fmt::ChainOptions co;
    co.format = a.fmt;
    co.open.force_share = a.force_share;
    co.open.direct = cache.direct;
    auto l = fmt::open_chain(name, co);
    if (!l) return make_error(open_error(name, l.error()));
    s.total += (*l)->size();
    s.layers.push_back(std::move(*l));
  }
  if (!snapshot) return s;
  if (names.size() > 1 && !a.snapshot_param->starts_with("snapshot."))
    return make_error(EINVAL, "No support for concatenating multiple snapshot");
  // Reopen the first source as of the snapshot (the first open gave the
  // plain "Could not open" errors their qemu wording).
  fmt::ChainOptions co;
  co.format = a.fmt;
  co.open.force_share = a.force_share;
  co.open.direct = cache.direct;
  co.open.snapshot = snapshot;
  auto l = fmt::open_chain(names[0], co);
  if (!l) return make_error(l.error().code, "Failed to load snapshot: " + l.error().message);
  s.total = s.total - s.layers[0]->size() + (*l)->size();
  s.layers[0] = std::move(*l);
  return s;
}

struct TargetPlan {
  std::string backing, backing_fmt;  // as stored in the new image's header
};

// Validates -o/-B/-F/-c against the output driver and creates the image.
Result<TargetPlan> create_target(const ConvertArgs& a, const fmt::FormatDriver& drv, const std::string& out,
                                 std::map<std::string, std::string> opts, uint64_t size, size_t nsrc) {
  for (const auto& [k, v] : opts) {
    bool known = k == "size";  // always accepted (and overridden)
    for (const fmt::OptionDesc& d : drv.create_options) known = known || d.name == k;
    if (!known) return make_error(EINVAL, "Invalid parameter '" + k + "'");
  }
  if (a.backing) {
    if (!drv.supports_backing)
      return make_error(EINVAL, "Backing file not supported for file format '" + a.out_fmt + "'");
    opts["backing_file"] = *a.backing;
  }
  if (a.backing_fmt) {
    if (!drv.supports_backing)
      return make_error(EINVAL, "Backing file format not supported for file format '" + a.out_fmt + "'");
    opts["backing_fmt"] = *a.backing_fmt;
  }
  TargetPlan plan;
  fmt::CreateSpec spec;
  spec.size = size;
  if (auto it = opts.find("backing_file"); it != opts.end()) {
    plan.backing = it->second;
    opts.erase(it);
  }
  if (auto it = opts.find("backing_fmt"); it != opts.end()) {
    plan.backing_fmt = it->second;
    opts.erase(it);
  }
  opts.erase("size");  // qemu-img sets the size from the sources
  if (!plan.backing.empty()) {
    if (nsrc > 1)
      return make_error(EINVAL,
                        "Having a backing file for the target makes no sense when concatenating multiple input "
                        "images");
    if (plan.backing_fmt.empty()) return make_error(EINVAL, "Use of backing file requires explicit backing format");
  }
  if (a.compress) {
    if (!can_compress(drv.name)) return make_error(ENOTSUP, "Compression not supported for this file format");
    if (opts.count("encryption") || opts.count("encrypt.format"))
      return make_error(EINVAL, "Compression and encryption not supported at the same time");
    if (auto it = opts.find("preallocation"); it != opts.end() && it->second != "off")
      return make_error(EINVAL, "Compression and preallocation not supported at the same time");
  }
  if (a.bitmaps) return make_error(ENOTSUP, "Source lacks bitmap support");
  spec.options = std::move(opts);
  spec.backing_file = plan.backing;
  spec.backing_format = plan.backing_fmt;
  auto r = drv.create(out, spec);
  if (!r) return make_error(r.error().code, out + ": error while converting " + a.out_fmt + ": " + r.error().message);
  return plan;
}

Result<int> run_convert(ConvertArgs& a) {
  if (a.out_fmt.empty()) a.out_fmt = "raw";
  DK_TRY(check_flags(a, a.sparse.has_value()));
  std::string joined;
  for (const std::string& o : a.options) joined += (joined.empty() ? "" : ",") + o;
  if (!joined.empty() && is_help_option(joined)) {
    const fmt::FormatDriver* drv = fmt::find_driver(a.out_fmt);
    if (!drv) return make_error(EINVAL, "Unknown file format '" + a.out_fmt + "'");
    print_option_help(*drv);
    return 0;
  }
  if (a.files.size() < 2) return make_error(EINVAL, "Must specify image file name");
  const std::string out = a.files.back();
  std::vector<std::string> names(a.files.begin(), a.files.end() - 1);
  const uint64_t sparse = DK_TRY(parse_sparse(a.sparse));
  unsigned depth = 8;
  if (a.coroutines) {
    auto m = parse_size(*a.coroutines, "number");
    if (!m || *m < 1 || *m > 16 || a.coroutines->find_first_not_of("0123456789") != std::string::npos)
      return make_error(EINVAL, "Invalid number of coroutines. Allowed number of coroutines is between 1 and 16");
    depth = std::max<unsigned>(static_cast<unsigned>(*m), 4);
  }
  if (a.rate) DK_TRY(parse_size(*a.rate, "rate limit"));  // accepted; diskit does not throttle
  const CacheMode src_cache = DK_TRY(parse_cache(a.src_cache, "source cache option"));
  const std::optional<std::string> snapshot = DK_TRY(parse_snapshot(a));

  Progress progress(a.progress && !a.quiet);
  progress.print(0);
  Sources src = DK_TRY(open_sources(a, names, src_cache, snapshot));

  std::string backing, backing_fmt;
  if (!a.skip_create) {
    const fmt::FormatDriver* drv = fmt::find_driver(a.out_fmt);
    if (!drv) return make_error(EINVAL, "Unknown file format '" + a.out_fmt + "'");
    auto opts = DK_TRY(parse_option_string(joined));
    TargetPlan plan = DK_TRY(create_target(a, *drv, out, std::move(opts), src.total, names.size()));
    backing = plan.backing;
    backing_fmt = plan.backing_fmt;
  } else if (a.backing) {
    backing = *a.backing;
    backing_fmt = a.backing_fmt.value_or("");
  }
  if (a.target_is_zero && !backing.empty())
    return make_error(EINVAL, "Cannot use --target-is-zero when the destination image has a backing file");
  const CacheMode cache = DK_TRY(parse_cache(a.cache, "cache option"));

  fmt::ChainOptions to;
  to.format = a.out_fmt;
  to.open.writable = true;
  to.open.direct = cache.direct;
  to.open.sync_writes = cache.sync_writes;
  to.open.no_flush = !cache.flush;
  auto target = fmt::open_chain(out, to);
  if (!target) return make_error(open_error(out, target.error()));
  if (a.compress && !can_compress((*target)->format_name()))
    return make_error(ENOTSUP, "Compression not supported for this file format");
  if (a.skip_create && (*target)->size() < src.total)
    return make_error(EINVAL, "output file is smaller than input file");

  // -B: a separate read-only view of the backing chain to compare against.
  std::unique_ptr<fmt::Layer> base;
  if (!backing.empty()) {
    fmt::ChainOptions bo;
    bo.format = backing_fmt;
    bo.open.force_share = true;
    const std::string path = fmt::resolve_backing_path(out, backing);
    auto b = fmt::open_chain(path, bo);
    if (!b) return make_error(open_error(path, b.error()));
    base = std::move(*b);
  }

  fmt::ConvertOptions co;
  co.sparse_size = sparse;
  co.compress = a.compress;
  co.target_is_zero = a.skip_create ? a.target_is_zero : backing.empty();
  co.compare_base = base.get();
  co.depth = depth;
  if (progress.enabled()) co.progress = [&](double p) { progress.print(p); };
  std::vector<fmt::Layer*> layers;
  for (auto& l : src.layers) layers.push_back(l.get());
  DK_TRY(fmt::convert_image(layers, **target, co));
  if (cache.flush) DK_TRY((*target)->flush());
  progress.print(100);
  progress.end();
  return 0;
}

}  // namespace

Command add_convert(CLI::App& parent) {
  auto a = std::make_shared<ConvertArgs>();
  CLI::App* app = parent.add_subcommand("convert", "Convert (copy) one or more images into a new image");
  app->add_option("--object", a->objects, "QOM object (not supported)")->allow_extra_args(false);
  app->add_flag("--image-opts", a->image_opts, "Treat sources as option strings (not supported)");
  app->add_flag("--target-image-opts", a->target_image_opts, "Treat the target as an option string (not supported)");
  app->add_option("-f", a->fmt, "Source format (all sources)");
  app->add_option("-O", a->out_fmt, "Output format (default raw)");
  // One value per -o (a vector option would swallow the file names).
  app->add_option("-o", a->options, "Output format options (key=value,...; 'help' lists them)")
      ->allow_extra_args(false);
  app->add_flag("-c", a->compress, "Compress the output clusters");
  app->add_flag("-p", a->progress, "Show progress");
  app->add_flag("-q", a->quiet, "Quiet");
  app->add_option("-S", a->sparse, "Minimum zero run to leave sparse (default 4k, 0 = fully allocate)");
  app->add_flag("-n", a->skip_create, "Do not create the target (it must exist)");
  app->add_option("-B", a->backing, "Backing file of the target (write only what differs from it)");
  app->add_option("-F", a->backing_fmt, "Format of the backing file");
  app->add_option("-l", a->snapshot_param, "Source snapshot: snapshot.id=ID,snapshot.name=NAME or a name");
  app->add_option("-s", a->snapshot_id, "Source snapshot id or name");
  app->add_option("-t", a->cache, "Target cache mode (default unsafe)");
  app->add_option("-T", a->src_cache, "Source cache mode (default writeback)");
  app->add_option("-m", a->coroutines, "Parallel requests (1..16, default 8)");
  app->add_flag("-W", a->out_of_order, "Allow out-of-order writes (accepted; output stays ordered)");
  app->add_flag("-U,--force-share", a->force_share, "Open sources even if another process holds them");
  app->add_flag("-C", a->copy_range, "Copy offloading (accepted)");
  app->add_option("-r", a->rate, "Rate limit (accepted, ignored)");
  app->add_flag("--target-is-zero", a->target_is_zero, "With -n: the target reads as zero already");
  app->add_flag("--salvage", a->salvage, "Continue past read errors (accepted)");
  app->add_flag("--bitmaps", a->bitmaps, "Copy persistent bitmaps (not supported)");
  app->add_option("files", a->files, "SOURCE... TARGET");
  Command c;
  c.app = app;
  c.run = [a]() -> Result<int> { return run_convert(*a); };
  return c;
}

}  // namespace dk::tools
