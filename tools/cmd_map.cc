// diskit map: qemu-img 7.2's `map` (allocation of the whole backing chain).
#include <algorithm>
#include <cstdio>
#include <string>

#include "formats/chain.h"
#include "tools/command.h"
#include "tools/human.h"
#include "tools/image_args.h"
#include "tools/options.h"

namespace dk::tools {
namespace {

// qemu-img asks for at most 1 GiB of block status at a time.
constexpr uint64_t kMapProbe = 1ull << 30;

struct MapOptions {
  std::string format;
  std::string output = "human";
  std::string start_offset;
  std::string max_length;
  bool force_share = false;
  std::string filename;
};

void flush_out(std::string& out) {
  std::fwrite(out.data(), 1, out.size(), stdout);
  out.clear();
}

Result<int> run_map(const MapOptions& o) {
  OutputFormat output = DK_TRY(parse_output_format(o.output));
  bool json = output == OutputFormat::Json;
  uint64_t start = 0;
  uint64_t max_length = UINT64_MAX;
  if (!o.start_offset.empty()) {
    auto v = parse_size(o.start_offset, "start offset");
    if (!v)
      return make_error(EINVAL, "Invalid start offset specified. You may use k, M, G, T, P or E "
                                "suffixes for kilobytes, megabytes, gigabytes, terabytes, "
                                "petabytes and exabytes.");
    start = *v;
  }
  if (!o.max_length.empty()) {
    auto v = parse_size(o.max_length, "max length");
    if (!v)
      return make_error(EINVAL, "Invalid max length specified. You may use k, M, G, T, P or E "
                                "suffixes for kilobytes, megabytes, gigabytes, terabytes, "
                                "petabytes and exabytes.");
    max_length = *v;
  }
  fmt::ChainOptions copts;
  copts.format = o.format;
  copts.open.force_share = o.force_share;
  auto top_r = fmt::open_chain(o.filename, copts);
  if (!top_r) return make_error(open_error(o.filename, top_r.error()));
  fmt::Layer& top = **top_r;

  uint64_t end = top.size();
  if (max_length < end && start < end - max_length) end = start + max_length;
  std::string out = map_header(json);
  fmt::MapEntry cur;
  cur.start = start;
  while (cur.start + cur.length < end) {
    uint64_t off = cur.start + cur.length;
    auto next_r = fmt::chain_block_status(top, off, std::min(end - off, kMapProbe));
    if (!next_r) {
      flush_out(out);
      return make_error(next_r.error().code,
                        "Could not read file metadata: " + next_r.error().message);
    }
    fmt::MapEntry next = std::move(*next_r);
    if (next.length == 0)
      return make_error(EIO, "'" + o.filename + "': block status returned an empty extent");
    if (!next.offset) next.file.clear();
    if (map_entries_mergeable(cur, next)) {
      cur.length += next.length;
      continue;
    }
    if (cur.length > 0) {
      auto r = map_dump_entry(json, cur, &next, out);
      if (!r) {
        flush_out(out);
        return make_error(r.error());
      }
    }
    cur = std::move(next);
    if (out.size() > (64u << 10)) flush_out(out);
  }
  auto r = map_dump_entry(json, cur, nullptr, out);
  if (!r) {
    flush_out(out);
    return make_error(r.error());
  }
  if (json) out += "]\n";
  flush_out(out);
  return 0;
}

}  // namespace

Command add_map(CLI::App& parent) {
  auto o = std::make_shared<MapOptions>();
  Command c;
  c.app = parent.add_subcommand("map", "Show where the data of an image lives");
  c.app->add_option("-f", o->format, "Image format (probed when omitted)");
  c.app->add_option("--output", o->output, "Output format: human (default) or json");
  c.app->add_option("-s,--start-offset", o->start_offset, "Start at this guest offset");
  c.app->add_option("-l,--max-length", o->max_length, "Map at most this many bytes");
  c.app->add_flag("-U,--force-share", o->force_share, "Open the image even if another process holds it");
  c.app->add_option("filename", o->filename, "Image file")->required();
  c.run = [o]() -> Result<int> { return run_map(*o); };
  return c;
}

}  // namespace dk::tools
