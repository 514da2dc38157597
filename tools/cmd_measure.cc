// diskit measure: qemu-img 7.2's `measure` (size a new image needs).
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "formats/chain.h"
#include "formats/maint/measure.h"
#include "tools/command.h"
#include "tools/image_args.h"
#include "tools/options.h"
#include "tools/qjson.h"

namespace dk::tools {
namespace {

struct MeasureOptions {
  std::string output = "human";
  std::string out_format = "raw";
  std::vector<std::string> opts;
  std::string format;
  std::string snapshot;
  std::string size;
  bool force_share = false;
  std::vector<std::string> files;
};

// The -o keys that change a qcow2 image's size; others are accepted and ignored.
Result<void> apply_target_options(const std::vector<std::string>& opts, fmt::maint::MeasureTarget& t) {
  for (const std::string& text : opts) {
    auto kv = DK_TRY(parse_option_string(text));
    for (const auto& [key, value] : kv) {
      if (key == "cluster_size") {
        t.cluster_size = DK_TRY(parse_size(value, "cluster size"));
        if (t.cluster_size < 512 || t.cluster_size > (2u << 20) || (t.cluster_size & (t.cluster_size - 1)))
          return make_error(EINVAL, "Cluster size must be a power of two between 512 and 2048k");
      } else if (key == "refcount_bits") {
        uint64_t bits = DK_TRY(parse_size(value, "refcount bits"));
        if (bits == 0 || bits > 64 || (bits & (bits - 1)))
          return make_error(EINVAL, "Refcount width must be a power of two and may not exceed 64 bits");
        t.refcount_bits = static_cast<uint32_t>(bits);
      } else if (key == "extended_l2") {
        t.extended_l2 = DK_TRY(parse_bool_option(key, value));
      } else if (key == "compat") {
        t.v3 = !(value == "0.10" || value == "v2");
      } else if (key == "preallocation") {
        t.prealloc_all = value == "falloc" || value == "full";
      } else if (key == "backing_file") {
        // QEMU assumes nothing is shared with the backing file: all data counts.
        t.prealloc_all = true;
      }
    }
  }
  return {};
}

Result<int> run_measure(const MeasureOptions& o) {
  OutputFormat output = DK_TRY(parse_output_format(o.output));
  if (!o.size.empty() && !o.files.empty())
    return make_error(EINVAL, "--size N cannot be used together with a filename.");
  if (o.size.empty() && o.files.size() != 1)
    return make_error(EINVAL, "Either --size N or one filename must be specified.");
  fmt::maint::MeasureTarget target;
  target.format = o.out_format;
  DK_TRY(apply_target_options(o.opts, target));

  std::unique_ptr<fmt::Layer> in;
  uint64_t size = 0;
  if (!o.size.empty()) {
    auto s = parse_size(o.size, "size");
    if (!s)
      return make_error(EINVAL, "Invalid image size specified. You may use k, M, G, T, P or E "
                                "suffixes for kilobytes, megabytes, gigabytes, terabytes, petabytes "
                                "and exabytes.");
    size = *s;
  } else {
    fmt::ChainOptions copts;
    copts.format = o.format;
    copts.open.force_share = o.force_share;
    if (!o.snapshot.empty()) copts.open.snapshot = o.snapshot;
    auto top = fmt::open_chain(o.files[0], copts);
    if (!top) return make_error(open_error(o.files[0], top.error()));
    in = std::move(*top);
  }
  fmt::maint::MeasureInfo info = DK_TRY(fmt::maint::measure_image(in.get(), size, target));
  std::string out;
  if (output == OutputFormat::Json) {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    j["required"] = info.required;
    j["fully-allocated"] = info.fully_allocated;
    if (info.bitmaps) j["bitmaps"] = *info.bitmaps;
    out = to_qjson_pretty(j) + "\n";
  } else {
    out = "required size: " + std::to_string(info.required) + "\nfully allocated size: " +
          std::to_string(info.fully_allocated) + "\n";
    if (info.bitmaps) out += "bitmaps size: " + std::to_string(*info.bitmaps) + "\n";
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace

Command add_measure(CLI::App& parent) {
  auto o = std::make_shared<MeasureOptions>();
  Command c;
  c.app = parent.add_subcommand("measure", "Calculate the file size a new image needs");
  c.app->add_option("--output", o->output, "Output format: human (default) or json");
  c.app->add_option("-O", o->out_format, "Target format (raw or qcow2; default raw)");
  c.app->add_option("-o", o->opts, "Target creation options (cluster_size, refcount_bits, ...)")
      ->allow_extra_args(false);
  c.app->add_option("-f", o->format, "Input image format (probed when omitted)");
  c.app->add_option("-l", o->snapshot, "Measure the input as of this internal snapshot");
  c.app->add_option("--size", o->size, "Measure a new empty image of this size");
  c.app->add_flag("-U,--force-share", o->force_share, "Open the image even if another process holds it");
  c.app->add_option("filename", o->files, "Input image");
  c.run = [o]() -> Result<int> { return run_measure(*o); };
  return c;
}

}  // namespace dk::tools
