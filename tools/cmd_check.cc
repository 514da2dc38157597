// diskit check: qemu-img 7.2's `check` (consistency check, -r repair,
// human and JSON reports, QEMU's exit codes 0/1/2/3/63).
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "formats/chain.h"
#include "tools/command.h"
#include "tools/image_args.h"
#include "tools/qjson.h"

namespace dk::tools {
namespace {

using nlohmann::ordered_json;

struct CheckOptions {
  std::string format;
  std::string output;
  std::string repair;
  std::string cache = "writeback";
  std::vector<std::string> objects;  // --object: accepted and ignored (no secrets are needed)
  bool image_opts = false;
  bool quiet = false;
  bool force_share = false;
  std::vector<std::string> files;
};

// collect_image_check(): the QAPI ImageCheck, keys in its field order;
// optional members only when nonzero, as qemu-img sets has_*.
ordered_json image_check(const fmt::CheckReport& r, const std::string& filename, std::string_view format) {
  ordered_json j = ordered_json::object();
  j["filename"] = filename;
  j["format"] = std::string(format);
  j["check-errors"] = r.check_errors;
  auto opt = [&](const char* key, uint64_t v) {
    if (v) j[key] = v;
  };
  opt("image-end-offset", r.image_end_offset);
  opt("corruptions", r.corruptions);
  opt("leaks", r.leaks);
  opt("corruptions-fixed", r.corruptions_fixed);
  opt("leaks-fixed", r.leaks_fixed);
  opt("total-clusters", r.total_clusters);
  opt("allocated-clusters", r.allocated_clusters);
  opt("fragmented-clusters", r.fragmented_clusters);
  opt("compressed-clusters", r.compressed_clusters);
  return j;
}

// dump_human_image_check().
std::string human_check(const fmt::CheckReport& r) {
  std::string out;
  char buf[256];
  if (!(r.corruptions || r.leaks || r.check_errors)) {
    out += "No errors were found on the image.\n";
  } else {
    if (r.corruptions)
      out += "\n" + std::to_string(r.corruptions) +
             " errors were found on the image.\nData may be corrupted, or further writes to the image may "
             "corrupt it.\n";
    if (r.leaks)
      out += "\n" + std::to_string(r.leaks) +
             " leaked clusters were found on the image.\nThis means waste of disk space, but no harm to data.\n";
    if (r.check_errors)
      out += "\n" + std::to_string(r.check_errors) + " internal errors have occurred during the check.\n";
  }
  if (r.total_clusters && r.allocated_clusters) {
    std::snprintf(buf, sizeof buf, "%llu/%llu = %0.2f%% allocated, %0.2f%% fragmented, %0.2f%% compressed clusters\n",
                  static_cast<unsigned long long>(r.allocated_clusters),
                  static_cast<unsigned long long>(r.total_clusters), r.allocated_clusters * 100.0 / r.total_clusters,
                  r.fragmented_clusters * 100.0 / r.allocated_clusters,
                  r.compressed_clusters * 100.0 / r.allocated_clusters);
    out += buf;
  }
  if (r.image_end_offset) out += "Image end offset: " + std::to_string(r.image_end_offset) + "\n";
  return out;
}

// One run of the driver's check; the diagnostics go to stderr as QEMU's
// drivers print them.
Result<fmt::CheckReport> run_driver_check(fmt::Layer& layer, fmt::CheckFix fix) {
  auto r = layer.check(fix);
  if (!r) return r;
  for (const std::string& m : r->messages) std::fprintf(stderr, "%s\n", m.c_str());
  std::fflush(stderr);
  return r;
}

Result<int> run_check(CheckOptions& o) {
  if (o.files.size() != 1) return make_error(EINVAL, "Expecting one image file name");
  if (o.image_opts) return make_error(ENOTSUP, "--image-opts is not supported");
  fmt::CheckFix fix = fmt::kCheckFixNone;
  if (!o.repair.empty()) {
    if (o.repair == "leaks")
      fix = fmt::kCheckFixLeaks;
    else if (o.repair == "all")
      fix = static_cast<fmt::CheckFix>(fmt::kCheckFixLeaks | fmt::kCheckFixErrors);
    else
      return make_error(EINVAL, "Unknown option value for -r (expecting 'leaks' or 'all'): " + o.repair);
  }
  OutputFormat output = OutputFormat::Human;
  if (!o.output.empty()) output = DK_TRY(parse_output_format(o.output));
  const std::string& filename = o.files.front();

  fmt::ChainOptions copts;
  copts.format = o.format;
  copts.open.writable = !o.repair.empty();
  copts.open.force_share = o.force_share;
  // QEMU's BDRV_O_CHECK: no repair on open (the check reports it), and a
  // qcow2 image marked corrupt may be opened for repair.
  copts.open.extra["check"] = "on";
  DK_TRY(apply_cache_mode(o.cache, "source cache option", copts.open));
  if (o.force_share && copts.open.writable)
    return make_error(EINVAL, "Could not open '" + filename + "': force-share=on can only be used with read-only images");
  auto top = fmt::open_chain(filename, copts);
  if (!top) return make_error(open_error(filename, top.error()));
  fmt::Layer& layer = **top;

  auto first = run_driver_check(layer, fix);
  if (!first && first.error().code == ENOTSUP) return make_error(ENOTSUP, "This image format does not support checks");
  if (!first) return make_error(first.error().code, "Check failed: " + first.error().message);
  fmt::CheckReport report = std::move(*first);
  int failed = report.failed;
  if (!failed && (report.corruptions_fixed || report.leaks_fixed)) {
    if (output == OutputFormat::Human && !o.quiet)
      std::printf(
          "The following inconsistencies were found and repaired:\n\n    %llu leaked clusters\n    %llu "
          "corruptions\n\nDouble checking the fixed image now...\n",
          static_cast<unsigned long long>(report.leaks_fixed),
          static_cast<unsigned long long>(report.corruptions_fixed));
    std::fflush(stdout);
    auto again = run_driver_check(layer, fmt::kCheckFixNone);
    if (!again) return make_error(again.error().code, "Check failed: " + again.error().message);
    again->leaks_fixed = report.leaks_fixed;
    again->corruptions_fixed = report.corruptions_fixed;
    report = std::move(*again);
    failed = report.failed;
  }
  if (!failed && !o.quiet) {
    std::string out = output == OutputFormat::Json
                          ? to_qjson_pretty(image_check(report, filename, layer.format_name())) + "\n"
                          : human_check(report);
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
  }
  if (failed || report.check_errors) {
    std::fprintf(stderr, "diskit: check: %s\n",
                 failed ? ("Check failed: " + std::string(std::strerror(failed))).c_str() : "Check failed");
    return 1;
  }
  if (report.corruptions) return 2;
  if (report.leaks) return 3;
  return 0;
}

}  // namespace

Command add_check(CLI::App& parent) {
  auto o = std::make_shared<CheckOptions>();
  Command c;
  c.app = parent.add_subcommand("check", "Check a disk image for consistency (and repair it with -r)");
  c.app->add_option("-f,--format", o->format, "Image format (probed when omitted)");
  c.app->add_option("-r,--repair", o->repair, "Repair: leaks, or all (leaks and corruptions)");
  c.app->add_option("--output", o->output, "Output format: human (default) or json");
  c.app->add_option("-T", o->cache, "Cache mode for the image (none, writeback, ...)");
  c.app->add_option("--object", o->objects, "Accepted for compatibility and ignored");
  c.app->add_flag("--image-opts", o->image_opts, "Not supported");
  c.app->add_flag("-q", o->quiet, "Quiet: print nothing but errors");
  c.app->add_flag("-U,--force-share", o->force_share, "Open the image even if another process holds it");
  c.app->add_option("filename", o->files, "Image file");
  c.run = [o]() -> Result<int> {
    auto r = run_check(*o);
    // 63: the format has no check (qemu-img's code for it).
    if (!r && r.error().code == ENOTSUP && r.error().message == "This image format does not support checks") {
      std::fprintf(stderr, "diskit: check: %s\n", r.error().message.c_str());
      return 63;
    }
    return r;
  };
  return c;
}

}  // namespace dk::tools
