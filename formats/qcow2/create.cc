// Creating qcow2 images with qemu-img 7.2's options and layout: header,
// refcount table, one refcount block, L1 table, then (preallocation) L2
// tables and data.
#include <fcntl.h>

#include <cmath>
#include <cstring>

#include "formats/core/checked_math.h"
#include "formats/core/endian.h"
#include "formats/core/lock.h"
#include "formats/qcow2/header.h"
#include "formats/qcow2/qcow2.h"

namespace dk::fmt::qcow2 {

extern const OptionDesc kCreateOptions[] = {
    {"backing_file", "str", "File name of a base image", ""},
    {"backing_fmt", "str", "Image format of the base image", ""},
    {"cluster_size", "size", "qcow2 cluster size", "65536"},
    {"compat", "str", "Compatibility level (v2 [0.10] or v3 [1.1])", ""},
    {"compression_type", "str", "Compression method used for image cluster compression", "zlib"},
    {"data_file", "str", "File name of an external data file", ""},
    {"data_file_raw", "bool", "The external data file must stay valid as a raw image", "off"},
    {"encrypt.cipher-alg", "str", "Name of encryption cipher algorithm", ""},
    {"encrypt.cipher-mode", "str", "Name of encryption cipher mode", ""},
    {"encrypt.format", "str", "Encrypt the image, format choices: 'aes', 'luks'", ""},
    {"encrypt.hash-alg", "str", "Name of encryption hash algorithm", ""},
    {"encrypt.iter-time", "num", "Time to spend in PBKDF in milliseconds", ""},
    {"encrypt.ivgen-alg", "str", "Name of IV generator algorithm", ""},
    {"encrypt.ivgen-hash-alg", "str", "Name of IV generator hash algorithm", ""},
    {"encrypt.key-secret", "str", "ID of secret providing qcow AES key or LUKS passphrase", ""},
    {"encryption", "bool", "Encrypt the image with format 'aes'. (Deprecated in favor of encrypt.format=aes)", ""},
    {"extended_l2", "bool", "Extended L2 tables", "off"},
    {"lazy_refcounts", "bool", "Postpone refcount updates", "off"},
    {"preallocation", "str", "Preallocation mode (allowed values: off, metadata, falloc, full)", ""},
    {"refcount_bits", "num", "Width of a reference count entry in bits", "16"},
    {"size", "size", "Virtual disk size", ""},
};
extern const size_t kCreateOptionCount = sizeof(kCreateOptions) / sizeof(kCreateOptions[0]);

namespace {

enum class Prealloc { kOff, kMetadata, kFalloc, kFull };

struct Params {
  uint64_t size = 0;
  uint32_t version = 3;
  uint32_t cluster_bits = 16;
  uint32_t refcount_order = 4;
  bool lazy = false;
  bool ext_l2 = false;
  uint8_t compression = kCompressionZlib;
  std::string backing_file, backing_fmt, data_file;
  bool data_file_raw = false;
  Prealloc prealloc = Prealloc::kOff;
};

tl::unexpected<Error> err(const std::string& path, const std::string& msg) {
  return make_error(EINVAL, path + ": " + msg);
}

Result<bool> parse_bool(const std::string& path, const std::string& key, const std::string& v) {
  if (v == "on" || v == "yes" || v == "true") return true;
  if (v == "off" || v == "no" || v == "false") return false;
  return err(path, "Parameter '" + key + "' expects 'on' or 'off'");
  return false;
}

Result<uint64_t> parse_size(const std::string& path, const std::string& key, const std::string& v) {
  char* end = nullptr;
  errno = 0;
  double d = std::strtod(v.c_str(), &end);
  uint64_t mul = 1;
  std::string suf = end ? end : "";
  static const std::string kSuf = "bkmgtpe";
  if (suf.size() == 1) {
    auto p = kSuf.find(static_cast<char>(std::tolower(suf[0])));
    if (p == std::string::npos) suf = "x";
    else mul = p == 0 ? 1 : (1ull << (10 * p)), suf.clear();
  }
  if (v.empty() || end == v.c_str() || !suf.empty() || errno || d < 0 || d * mul >= 18446744073709551616.0 ||
      !std::isfinite(d)) {
    return err(path, "Parameter '" + key + "' expects a non-negative number below 2^64\nOptional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\nand exabytes, respectively.");
  }
  return static_cast<uint64_t>(d * mul);
}

Result<Params> parse_options(const std::string& path, const CreateSpec& spec) {
  Params p;
  p.size = spec.size;
  p.backing_file = spec.backing_file;
  p.backing_fmt = spec.backing_format;
  std::string compat = "1.1";
  uint64_t cluster_size = 65536, refcount_bits = 16;
  bool refcount_given = false;
  for (const auto& [k, v] : spec.options) {
    if (k == "size") p.size = DK_TRY(parse_size(path, k, v));
    else if (k == "compat") compat = v;
    else if (k == "backing_file") p.backing_file = v;
    else if (k == "backing_fmt") p.backing_fmt = v;
    else if (k == "data_file") p.data_file = v;
    else if (k == "data_file_raw") p.data_file_raw = DK_TRY(parse_bool(path, k, v));
    else if (k == "cluster_size") cluster_size = DK_TRY(parse_size(path, k, v));
    else if (k == "lazy_refcounts") p.lazy = DK_TRY(parse_bool(path, k, v));
    else if (k == "extended_l2") p.ext_l2 = DK_TRY(parse_bool(path, k, v));
    else if (k == "refcount_bits") {
      char* end = nullptr;
      refcount_bits = std::strtoull(v.c_str(), &end, 10);
      if (v.empty() || *end) return err(path, "Parameter 'refcount_bits' expects a number");
      refcount_given = true;
    } else if (k == "compression_type") {
      if (v == "zlib") p.compression = kCompressionZlib;
      else if (v == "zstd") p.compression = kCompressionZstd;
      else return err(path, "Parameter 'compression-type' does not accept value '" + v + "'");
    } else if (k == "preallocation") {
      if (v == "off") p.prealloc = Prealloc::kOff;
      else if (v == "metadata") p.prealloc = Prealloc::kMetadata;
      else if (v == "falloc") p.prealloc = Prealloc::kFalloc;
      else if (v == "full") p.prealloc = Prealloc::kFull;
      else return err(path, "Parameter 'preallocation' does not accept value '" + v + "'");
    } else if (k == "encryption" || k.rfind("encrypt.", 0) == 0) {
      if (k == "encryption" && !DK_TRY(parse_bool(path, k, v))) continue;
      return make_error(ENOTSUP, path + ": encrypted qcow2 images are not supported");
    } else {
      return err(path, "Invalid parameter '" + k + "'");
    }
  }
  if (compat == "0.10" || compat == "v2") p.version = 2;
  else if (compat == "1.1" || compat == "v3") p.version = 3;
  else return err(path, "Parameter 'version' does not accept value '" + compat + "'");
  if (!is_pow2(cluster_size) || cluster_size < 512 || cluster_size > (2u << 20))
    return err(path, "Cluster size must be a power of two between 512 and 2048k");
  p.cluster_bits = static_cast<uint32_t>(__builtin_ctzll(cluster_size));
  const std::string v3 = " are only supported with compatibility level 1.1 and above (use version=v3 or greater)";
  if (!p.backing_fmt.empty() && p.backing_file.empty())
    return err(path, "Backing format cannot be used without backing file");
  if (p.version < 3) {
    if (p.data_file.size()) return err(path, "External data files" + v3);
    if (p.lazy) return err(path, "Lazy refcounts only supported with compatibility level 1.1 and above (use version=v3 or greater)");
    if (p.ext_l2) return err(path, "Extended L2 entries" + v3);
    if (p.compression != kCompressionZlib) return err(path, "Non-zlib compression type is only supported with compatibility level 1.1 and above (use version=v3 or greater)");
  }
  if (p.data_file_raw && p.data_file.empty()) return err(path, "data-file-raw requires data-file");
  if (p.ext_l2 && cluster_size < 16384)
    return err(path, "Extended L2 entries are only supported with cluster sizes of at least 16384 bytes");
  if (!is_pow2(refcount_bits) || refcount_bits > 64)
    return err(path, "Refcount width must be a power of two and may not exceed 64 bits");
  if (p.version < 3 && refcount_bits != 16)
    return err(path, "Different refcount widths than 16 bits require compatibility level 1.1 or above (use version=v3 or greater)");
  (void)refcount_given;
  p.refcount_order = static_cast<uint32_t>(__builtin_ctzll(refcount_bits));
  if (!p.backing_file.empty() && p.prealloc != Prealloc::kOff && !p.ext_l2)
    return err(path, "Backing file and preallocation can only be used at the same time if extended_l2 is on");
  if (p.data_file_raw && p.prealloc == Prealloc::kOff) p.prealloc = Prealloc::kMetadata;
  if (p.size % 512) p.size = align_up(p.size, 512);
  return p;
}

// Header, refcount table (cluster 1) and the first refcount block (cluster 2).
Result<void> write_skeleton(File& f, const std::string& path, const Params& p) {
  const uint64_t cs = 1ull << p.cluster_bits;
  HeaderInfo info;
  Header& h = info.h;
  h.version = p.version;
  h.cluster_bits = p.cluster_bits;
  h.refcount_table_offset = cs;
  h.refcount_table_clusters = 1;
  h.refcount_order = p.refcount_order;
  if (p.lazy) h.compatible_features |= kCompatLazyRefcounts;
  if (p.ext_l2) h.incompatible_features |= kIncompatExtendedL2;
  if (p.compression != kCompressionZlib) h.incompatible_features |= kIncompatCompression;
  h.compression_type = p.compression;
  if (!p.data_file.empty()) {
    h.incompatible_features |= kIncompatDataFile;
    info.data_file = p.data_file;
    if (p.data_file_raw) h.autoclear_features |= kAutoclearDataFileRaw;
  }
  info.backing_file = p.backing_file;
  info.backing_format = p.backing_fmt;
  std::vector<std::byte> hdr = DK_TRY(serialize_header(info, path));
  DK_TRY(f.pwrite_all(0, hdr));
  std::vector<std::byte> rt(cs);
  store_be64(rt.data(), 2 * cs);
  DK_TRY(f.pwrite_all(cs, rt));
  // Refcount block: clusters 0, 1 and 2 are in use.
  std::vector<std::byte> rb(cs);
  const uint32_t bits = 1u << p.refcount_order;
  for (uint64_t c = 0; c < 3; ++c) {
    uint64_t bit = c * bits;
    if (bits >= 8) {
      // Big-endian value 1 in the last byte of the entry.
      rb[(bit + bits) / 8 - 1] = std::byte{1};
    } else {
      rb[bit / 8] |= static_cast<std::byte>(1u << (bit % 8));
    }
  }
  DK_TRY(f.pwrite_all(2 * cs, rb));
  DK_TRY(f.flush());
  return {};
}

}  // namespace

Result<void> create(const std::string& path, const CreateSpec& spec) {
  Params p = DK_TRY(parse_options(path, spec));
  const uint64_t cs = 1ull << p.cluster_bits;
  const uint64_t l2_entries = cs / (p.ext_l2 ? 16 : 8);
  if (div_round_up(p.size, cs * l2_entries) * 8 > kMaxL1Bytes)
    return err(path, "Image size is too large for this cluster size");
  // Lock (and only then empty) the image before touching the data file.
  File f = DK_TRY(create_image_file(path));
  if (!p.data_file.empty()) {
    File d = DK_TRY(create_image_file(p.data_file));
    DK_TRY(d.truncate(p.size));
  }
  DK_TRY(write_skeleton(f, path, p));
  f = File();  // drop our locks: the layer below takes its own
  OpenOptions o;
  o.writable = true;
  std::unique_ptr<Layer> l = DK_TRY(Qcow2Layer::open(path, o));
  DK_TRY(static_cast<Qcow2Layer&>(*l).preallocate(p.size, static_cast<int>(p.prealloc)));
  DK_TRY(l->flush());
  return {};
}

}  // namespace dk::fmt::qcow2
