// diskit info: qemu-img 7.2's `info` (human and JSON output, --backing-chain).
#include <cstdio>
#include <string>
#include <vector>

#include "formats/chain.h"
#include "tools/command.h"
#include "tools/human.h"
#include "tools/image_args.h"
#include "tools/qjson.h"

namespace dk::tools {
namespace {

using nlohmann::ordered_json;

struct InfoOptions {
  std::string format;
  std::string output = "human";
  bool backing_chain = false;
  bool force_share = false;
  std::string filename;
};

// qemu-img's ImageInfo for one layer, keys in the QAPI struct's field order
// (the JSON printer derives QEMU's hash order from it).
ordered_json image_info(const fmt::Layer& layer, const std::string& filename) {
  ordered_json info = ordered_json::object();
  info["filename"] = filename;
  info["format"] = std::string(layer.format_name());
  info["dirty-flag"] = layer.dirty();
  if (auto actual = layer.actual_size()) info["actual-size"] = *actual;
  info["virtual-size"] = layer.size();
  if (auto cs = layer.cluster_size(); cs && *cs) info["cluster-size"] = *cs;
  ordered_json specific = layer.format_specific();
  // Only qcow2-style formats with an "encrypt" block are encrypted; QEMU
  // prints the key only when it is true.
  if (specific.is_object() && specific.contains("encrypt")) info["encrypted"] = true;
  std::string backing = layer.backing_filename();
  if (!backing.empty()) {
    info["backing-filename"] = backing;
    info["full-backing-filename"] = fmt::resolve_backing_path(filename, backing);
    std::string bfmt = layer.backing_format();
    if (!bfmt.empty()) info["backing-filename-format"] = bfmt;
  }
  std::vector<fmt::SnapshotInfo> snaps = layer.snapshots();
  if (!snaps.empty()) {
    ordered_json list = ordered_json::array();
    for (const fmt::SnapshotInfo& sn : snaps) {
      ordered_json s = ordered_json::object();
      s["id"] = sn.id;
      s["name"] = sn.name;
      s["vm-state-size"] = sn.vm_state_size;
      s["date-sec"] = sn.date_sec;
      s["date-nsec"] = sn.date_nsec;
      s["vm-clock-sec"] = sn.vm_clock_nsec / 1000000000ull;
      s["vm-clock-nsec"] = sn.vm_clock_nsec % 1000000000ull;
      if (sn.icount) s["icount"] = *sn.icount;
      list.push_back(std::move(s));
    }
    info["snapshots"] = std::move(list);
  }
  if (!specific.is_null()) {
    ordered_json fs = ordered_json::object();
    fs["type"] = std::string(layer.format_name());
    fs["data"] = std::move(specific);
    info["format-specific"] = std::move(fs);
  }
  return info;
}

// bdrv_image_info_dump(): the human form of one ImageInfo.
std::string human_info(const ordered_json& info, const fmt::Layer& layer) {
  std::string out;
  uint64_t vsize = info["virtual-size"].get<uint64_t>();
  out += "image: " + info["filename"].get<std::string>() + "\n";
  out += "file format: " + info["format"].get<std::string>() + "\n";
  out += "virtual size: " + size_to_str(vsize) + " (" + std::to_string(vsize) + " bytes)\n";
  out += "disk size: " +
         (info.contains("actual-size") ? size_to_str(info["actual-size"].get<uint64_t>())
                                       : std::string("unavailable")) +
         "\n";
  if (info.contains("encrypted")) out += "encrypted: yes\n";
  if (info.contains("cluster-size"))
    out += "cluster_size: " + std::to_string(info["cluster-size"].get<uint64_t>()) + "\n";
  if (info["dirty-flag"].get<bool>()) out += "cleanly shut down: no\n";
  if (info.contains("backing-filename")) {
    std::string b = info["backing-filename"].get<std::string>();
    std::string full = info["full-backing-filename"].get<std::string>();
    out += "backing file: " + b;
    if (full != b) out += " (actual path: " + full + ")";
    out += "\n";
  }
  if (info.contains("backing-filename-format"))
    out += "backing file format: " + info["backing-filename-format"].get<std::string>() + "\n";
  if (info.contains("snapshots")) {
    out += "Snapshot list:\n" + snapshot_table_header() + "\n";
    for (const fmt::SnapshotInfo& sn : layer.snapshots()) out += snapshot_table_row(sn) + "\n";
  }
  if (info.contains("format-specific")) {
    out += "Format specific information:\n";
    out += to_qhuman(info["format-specific"]["data"], 1);
  }
  return out;
}

Result<int> run_info(const InfoOptions& o) {
  OutputFormat output = DK_TRY(parse_output_format(o.output));
  fmt::ChainOptions copts;
  copts.format = o.format;
  copts.open.force_share = o.force_share;
  copts.no_backing = !o.backing_chain;
  auto top = fmt::open_chain(o.filename, copts);
  if (!top) return make_error(open_error(o.filename, top.error()));

  std::vector<std::pair<ordered_json, const fmt::Layer*>> infos;
  for (const fmt::Layer* l = top->get(); l; l = o.backing_chain ? l->backing() : nullptr)
    infos.emplace_back(image_info(*l, l == top->get() ? o.filename : l->filename()), l);

  std::string out;
  if (output == OutputFormat::Json) {
    if (o.backing_chain) {
      ordered_json list = ordered_json::array();
      for (auto& [info, layer] : infos) list.push_back(info);
      out = to_qjson_pretty(list) + "\n";
    } else {
      out = to_qjson_pretty(infos.front().first) + "\n";
    }
  } else {
    for (size_t i = 0; i < infos.size(); ++i) {
      if (i) out += "\n";
      out += human_info(infos[i].first, *infos[i].second);
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace

Command add_info(CLI::App& parent) {
  auto o = std::make_shared<InfoOptions>();
  Command c;
  c.app = parent.add_subcommand("info", "Show information about a disk image");
  c.app->add_option("-f", o->format, "Image format (probed when omitted)");
  c.app->add_option("--output", o->output, "Output format: human (default) or json");
  c.app->add_flag("--backing-chain", o->backing_chain, "Show every image of the backing chain");
  c.app->add_flag("-U,--force-share", o->force_share, "Open the image even if another process holds it");
  c.app->add_option("filename", o->filename, "Image file")->required();
  c.run = [o]() -> Result<int> { return run_info(*o); };
  return c;
}

}  // namespace dk::tools
