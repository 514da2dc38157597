// Creating VMDK images with QEMU 7.2's layout and option checks
// (vmdk_co_do_create / vmdk_init_extent), except streamOptimized, which is
// written in VMware's layout (directory and footer at the end) so VMware
// products import it.
#include <fcntl.h>
#include <sys/stat.h>

#include <cstring>
#include <random>

#include "formats/chain.h"
#include "formats/core/checked_math.h"
#include "formats/core/endian.h"
#include "formats/core/lock.h"
#include "formats/vmdk/stream.h"
#include "formats/vmdk/vmdk.h"

namespace dk::fmt::vmdk {

namespace {

constexpr uint64_t kDescSectors = 20;
constexpr uint64_t kGrainSectors = 128;
constexpr uint32_t kGtes = 512;
constexpr uint64_t kSplitBytes = 2ull << 30;  // twoGbMaxExtent* extent size
constexpr uint64_t kFirstBlock = 4096;

struct Options {
  uint64_t size = 0;
  std::string adapter = "ide";
  std::string subformat = "monolithicSparse";
  bool compat6 = false;
  std::string hwversion;
  std::string toolsversion = "2147483647";
  bool zeroed_grain = false;
};

Result<bool> parse_bool(const std::string& key, const std::string& v) {
  if (v == "on") return true;
  if (v == "off") return false;
  return make_error(EINVAL, "Parameter '" + key + "' expects 'on' or 'off'");
}

Result<Options> parse_options(const CreateSpec& spec) {
  Options o;
  o.size = spec.size;
  for (const auto& [k, v] : spec.options) {
    if (k == "adapter_type") {
      if (v != "ide" && v != "buslogic" && v != "lsilogic" && v != "legacyESX")
        return make_error(EINVAL, "invalid parameter value: " + v);
      o.adapter = v;
    } else if (k == "subformat") {
      if (v != "monolithicSparse" && v != "monolithicFlat" && v != "twoGbMaxExtentSparse" &&
          v != "twoGbMaxExtentFlat" && v != "streamOptimized")
        return make_error(EINVAL, "invalid parameter value: " + v);
      o.subformat = v;
    } else if (k == "compat6") {
      o.compat6 = DK_TRY(parse_bool(k, v));
    } else if (k == "zeroed_grain") {
      o.zeroed_grain = DK_TRY(parse_bool(k, v));
    } else if (k == "hwversion") {
      o.hwversion = v;
    } else if (k == "toolsversion") {
      o.toolsversion = v;
    } else if (k != "size" && k != "backing_file" && k != "backing_fmt") {
      return make_error(EINVAL, "Invalid parameter '" + k + "'");
    }
  }
  if (!spec.backing_format.empty() && spec.backing_format != "vmdk")
    return make_error(EINVAL, "backing_file must be a vmdk image");
  if (o.compat6 && !o.hwversion.empty() && o.hwversion != "undefined")
    return make_error(EINVAL, "compat6 cannot be enabled with hwversion set");
  if (o.hwversion == "undefined") o.hwversion.clear();
  const bool flat = o.subformat == "monolithicFlat" || o.subformat == "twoGbMaxExtentFlat";
  if (flat && !spec.backing_file.empty()) return make_error(EINVAL, "Flat image can't have backing file");
  if (flat && o.zeroed_grain) return make_error(EINVAL, "Flat image can't enable zeroed grain");
  if (o.size > (static_cast<uint64_t>(INT64_MAX) & ~(kSector - 1)))
    return make_error(EINVAL, "Image size must be less than 8 EiB!");
  o.size = align_up(o.size, kSector);
  return o;
}

uint32_t random_cid() {
  std::random_device rd;
  uint32_t v;
  do v = rd(); while (v == kNoParentCid);
  return v;
}

// Header and tables of a hosted sparse extent in QEMU's layout: redundant
// directory and tables, then the directory and tables, grain aligned.
SparseExtentHeader sparse_header(uint64_t bytes, bool zeroed_grain, bool compress) {
  SparseExtentHeader h;
  h.version = compress ? 3 : zeroed_grain ? 2 : 1;
  h.flags = kFlagRedundantGt | kFlagNlDetect | (zeroed_grain ? kFlagZeroGrain : 0);
  h.capacity = bytes / kSector;
  h.grainSize = kGrainSectors;
  h.numGTEsPerGT = kGtes;
  h.descriptorOffset = 1;
  h.descriptorSize = kDescSectors;
  const uint64_t grains = div_round_up(h.capacity, kGrainSectors);
  const uint64_t gt_sectors = div_round_up(kGtes * 4, kSector);
  const uint64_t gt_count = div_round_up(grains, kGtes);
  const uint64_t gd_sectors = div_round_up(gt_count * 4, kSector);
  h.rgdOffset = h.descriptorOffset + h.descriptorSize;
  h.gdOffset = h.rgdOffset + gd_sectors + gt_sectors * gt_count;
  h.overHead = align_up(h.gdOffset + gd_sectors + gt_sectors * gt_count, kGrainSectors);
  return h;
}


Result<void> write_sparse(File& f, uint64_t bytes, bool zeroed_grain) {
  const SparseExtentHeader h = sparse_header(bytes, zeroed_grain, false);
  std::array<std::byte, kHeaderSize> hb{};
  encode_header(h, hb);
  DK_TRY(f.pwrite_all(0, hb));
  DK_TRY(f.truncate(h.overHead * kSector));
  const uint64_t gt_count = div_round_up(div_round_up(h.capacity, kGrainSectors), kGtes);
  const uint64_t gd_sectors = div_round_up(gt_count * 4, kSector);
  const uint64_t gt_sectors = div_round_up(kGtes * 4, kSector);
  std::vector<std::byte> gd(gd_sectors * kSector);
  for (uint64_t base : {h.rgdOffset, h.gdOffset}) {
    for (uint64_t i = 0; i < gt_count; ++i)
      store_le32(gd.data() + i * 4, static_cast<uint32_t>(base + gd_sectors + i * gt_sectors));
    DK_TRY(f.pwrite_all(base * kSector, gd));
  }
  return {};
}

// A streamOptimized file in VMware's layout with no grains yet.
Result<void> write_stream(File& f, uint64_t bytes, const std::string& desc) {
  SparseExtentHeader h;
  h.version = 3;
  h.flags = kFlagNlDetect | kFlagCompressed | kFlagMarkers;
  h.capacity = bytes / kSector;
  h.grainSize = kGrainSectors;
  h.numGTEsPerGT = kGtes;
  h.descriptorOffset = 1;
  h.descriptorSize = kDescSectors;
  h.rgdOffset = 0;
  h.gdOffset = kGdAtEnd;
  h.overHead = align_up(1 + kDescSectors, kGrainSectors);
  h.compressAlgorithm = kCompressionDeflate;
  std::vector<std::byte> head(h.overHead * kSector);
  encode_header(h, std::span(head).first(kHeaderSize));
  std::memcpy(head.data() + kSector, desc.data(), desc.size());
  DK_TRY(f.pwrite_all(0, head));
  const uint64_t gt_count = div_round_up(div_round_up(h.capacity, kGrainSectors), kGtes);
  std::vector<uint32_t> gd(gt_count, 0);
  DK_TRY(write_stream_end(f, h, gd, head.size()));
  return {};
}

Result<void> write_flat(File& f, uint64_t bytes) {
  DK_TRY(f.truncate(bytes));
  // Like QEMU's file creation, the first block is written (shows in map).
  std::vector<std::byte> z(std::min<uint64_t>(bytes, kFirstBlock));
  if (!z.empty()) DK_TRY(f.pwrite_all(0, z));
  return {};
}

Result<uint32_t> backing_cid(const std::string& path, const std::string& backing) {
  OpenOptions oo;
  oo.force_share = true;
  auto l = open_image(resolve_backing_path(path, backing), "vmdk", oo);
  if (!l) return make_error(l.error().with_context("Could not open backing file '" + backing + "'"));
  auto* v = dynamic_cast<VmdkLayer*>(l->get());
  if (!v) return make_error(EINVAL, "Invalid backing file format. Must be vmdk.");
  return v->descriptor().cid;
}

}  // namespace

Result<void> create_vmdk(const std::string& path, const CreateSpec& spec) {
  Options o = DK_TRY(parse_options(spec));
  const bool flat = o.subformat == "monolithicFlat" || o.subformat == "twoGbMaxExtentFlat";
  const bool split = o.subformat.starts_with("twoGb");
  const bool stream = o.subformat == "streamOptimized";
  DescriptorParams d;
  d.cid = random_cid();
  if (!spec.backing_file.empty()) {
    d.parent_cid = DK_TRY(backing_cid(path, spec.backing_file));
    d.parent_hint = spec.backing_file;
  }
  d.create_type = o.subformat;
  d.hw_version = o.compat6 ? "6" : o.hwversion.empty() ? "4" : o.hwversion;
  d.heads = o.adapter == "ide" ? 16 : 255;
  d.cylinders = o.size / kSector / (63ull * d.heads);
  d.adapter_type = o.adapter;
  d.tools_version = o.toolsversion;

  // Extent files are named after the descriptor: name-flat.vmdk,
  // name-s001.vmdk, name-f001.vmdk (QEMU's naming).
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  const std::string base = path.substr(dir.size());
  const size_t dot = base.rfind('.');
  const std::string prefix = dot == std::string::npos ? base : base.substr(0, dot);
  const std::string postfix = dot == std::string::npos ? "" : base.substr(dot);

  if (o.subformat == "monolithicSparse" || stream) {
    d.extents.push_back({"RW", o.size / kSector, "SPARSE", base, 0});
    std::string text = format_descriptor(d);
    if (text.size() > kDescSectors * kSector) return make_error(EINVAL, "descriptor is too long");
    File f = DK_TRY(create_image_file(path));
    if (stream) return write_stream(f, o.size, text);
    DK_TRY(write_sparse(f, o.size, o.zeroed_grain));
    return f.pwrite_all(kSector, std::as_bytes(std::span(text)));
  }
  // Descriptor file plus extents.
  File desc = DK_TRY(create_image_file(path));
  uint64_t left = o.size;
  // A zero-sized disk has no extents (and no extent files), like QEMU's.
  for (int i = 1; left > 0; ++i) {
    const uint64_t n = split ? std::min(left, kSplitBytes) : left;
    char num[16];
    std::snprintf(num, sizeof num, "%03d", i);
    const std::string name =
        split ? prefix + (flat ? "-f" : "-s") + num + postfix : prefix + "-flat" + postfix;
    File ef = DK_TRY(create_image_file(dir + name));
    if (flat)
      DK_TRY(write_flat(ef, n));
    else
      DK_TRY(write_sparse(ef, n, o.zeroed_grain));
    d.extents.push_back({"RW", n / kSector, flat ? "FLAT" : "SPARSE", name, 0});
    left -= n;
  }
  std::string text = format_descriptor(d);
  return desc.pwrite_all(0, std::as_bytes(std::span(text)));
}

}  // namespace dk::fmt::vmdk
