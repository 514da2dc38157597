// The qcow2 header: fixed fields, then extensions (type, length, data padded
// to 8 bytes) up to an end marker, then the backing file name.
#include "formats/qcow2/header.h"

#include <cstring>

#include "formats/core/checked_math.h"
#include "formats/core/endian.h"

namespace dk::fmt::qcow2 {

namespace {

tl::unexpected<Error> bad(const std::string& name, const std::string& what) {
  return make_error(EINVAL, "'" + name + "': " + what);
}

Header decode_fixed(const uint8_t* p, size_t avail) {
  Header h;
  h.magic = load_be32(p + 0);
  h.version = load_be32(p + 4);
  h.backing_file_offset = load_be64(p + 8);
  h.backing_file_size = load_be32(p + 16);
  h.cluster_bits = load_be32(p + 20);
  h.size = load_be64(p + 24);
  h.crypt_method = load_be32(p + 32);
  h.l1_size = load_be32(p + 36);
  h.l1_table_offset = load_be64(p + 40);
  h.refcount_table_offset = load_be64(p + 48);
  h.refcount_table_clusters = load_be32(p + 56);
  h.nb_snapshots = load_be32(p + 60);
  h.snapshots_offset = load_be64(p + 64);
  if (h.version >= 3 && avail >= kV3HeaderLength) {
    h.incompatible_features = load_be64(p + 72);
    h.compatible_features = load_be64(p + 80);
    h.autoclear_features = load_be64(p + 88);
    h.refcount_order = load_be32(p + 96);
    h.header_length = load_be32(p + 100);
    if (h.header_length > kV3HeaderLength && avail > kV3HeaderLength) h.compression_type = p[104];
  }
  return h;
}

Result<void> check_fixed(const Header& h, size_t avail, const std::string& name) {
  if (h.magic != kMagic) return bad(name, "image is not in qcow2 format");
  if (h.version < 2 || h.version > 3)
    return make_error(ENOTSUP, "'" + name + "': Unsupported qcow2 version " + std::to_string(h.version));
  if (h.cluster_bits < kMinClusterBits || h.cluster_bits > kMaxClusterBits)
    return bad(name, "unsupported cluster size: 2^" + std::to_string(h.cluster_bits));
  const uint64_t cs = 1ull << h.cluster_bits;
  if (h.version >= 3) {
    if (h.header_length < kV3HeaderLength) return bad(name, "qcow2 header too short");
    if (h.header_length > cs) return bad(name, "qcow2 header exceeds cluster size");
    if (h.header_length > avail) return bad(name, "qcow2 header is truncated");
    if (h.refcount_order > 6)
      return bad(name, "reference count entry width too large; may not exceed 64 bits");
  }
  if (h.backing_file_offset > cs) return bad(name, "invalid backing file offset");
  if (h.backing_file_offset) {
    if (h.backing_file_size > kMaxBackingFileName ||
        !range_within(h.backing_file_offset, h.backing_file_size, cs) ||
        !range_within(h.backing_file_offset, h.backing_file_size, avail))
      return bad(name, "backing file name too long");
  }
  if (h.header_length > kV3HeaderLength && h.compression_type != kCompressionZlib) {
    if (!(h.incompatible_features & kIncompatCompression))
      return bad(name, "compression type incompatible feature bit must be set when compression type is not zlib");
    if (h.compression_type != kCompressionZstd)
      return make_error(ENOTSUP, "'" + name + "': unknown compression type " + std::to_string(h.compression_type));
  } else if (h.incompatible_features & kIncompatCompression) {
    if (h.compression_type == kCompressionZlib)
      return bad(name, "compression type incompatible feature bit must not be set when compression type is zlib");
  }
  return {};
}

Result<void> parse_feature_table(HeaderInfo& info, const std::vector<uint8_t>& d) {
  for (size_t i = 0; i + 48 <= d.size(); i += 48) {
    FeatureName f;
    f.type = d[i];
    f.bit = d[i + 1];
    const char* s = reinterpret_cast<const char*>(&d[i + 2]);
    f.name.assign(s, strnlen(s, 46));
    info.features.push_back(std::move(f));
  }
  return {};
}

}  // namespace

std::string hex(uint64_t v) {
  char buf[32];
  snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string default_feature_name(uint8_t type, uint8_t bit) {
  static const char* const incompat[] = {"dirty bit", "corrupt bit", "external data file",
                                         "compression type", "extended L2 entries"};
  if (type == 0 && bit < 5) return incompat[bit];
  if (type == 1 && bit == 0) return "lazy refcounts";
  if (type == 2 && bit == 0) return "bitmaps";
  if (type == 2 && bit == 1) return "raw external data";
  return {};
}

Result<HeaderInfo> parse_header(std::span<const std::byte> head, const std::string& name) {
  if (head.size() < kV2HeaderLength) return bad(name, "file is too small to be a qcow2 image");
  const auto* p = reinterpret_cast<const uint8_t*>(head.data());
  HeaderInfo info;
  Header& h = info.h;
  h = decode_fixed(p, head.size());
  DK_TRY(check_fixed(h, head.size(), name));
  if (h.version == 2) {
    h.header_length = kV2HeaderLength;
    h.refcount_order = 4;
  }
  const uint64_t cs = 1ull << h.cluster_bits;
  // Extensions run from the end of the header to the backing file name (or the end of cluster 0).
  uint64_t end = h.backing_file_offset ? h.backing_file_offset : cs;
  end = std::min<uint64_t>(end, head.size());
  uint64_t off = h.header_length;
  while (off + 8 <= end) {
    uint32_t type = load_be32(p + off);
    uint32_t len = load_be32(p + off + 4);
    off += 8;
    if (type == kExtEnd) break;
    if (!range_within(off, len, end)) return bad(name, "header extension " + hex(type) + " is beyond the header area");
    std::vector<uint8_t> data(p + off, p + off + len);
    off += align_up(len, 8);
    switch (type) {
      case kExtBackingFormat:
        if (len > kMaxBackingFileName) return bad(name, "backing format name too long");
        info.backing_format.assign(data.begin(), data.end());
        break;
      case kExtFeatureTable:
        DK_TRY(parse_feature_table(info, data));
        break;
      case kExtDataFile:
        info.has_data_file_ext = true;
        info.data_file.assign(data.begin(), data.end());
        break;
      default:
        info.unknown.push_back(Extension{type, std::move(data)});
        break;
    }
  }
  if (h.backing_file_offset)
    info.backing_file.assign(reinterpret_cast<const char*>(p + h.backing_file_offset), h.backing_file_size);
  return info;
}

Result<std::vector<std::byte>> serialize_header(HeaderInfo& info, const std::string& name) {
  Header& h = info.h;
  const uint64_t cs = 1ull << h.cluster_bits;
  if (h.version >= 3) {
    h.header_length = kV3HeaderLengthWithCompression;
  } else {
    h.header_length = kV2HeaderLength;
  }
  std::vector<uint8_t> buf(h.header_length, 0);
  uint8_t* p = buf.data();
  store_be32(p + 0, kMagic);
  store_be32(p + 4, h.version);
  store_be32(p + 20, h.cluster_bits);
  store_be64(p + 24, h.size);
  store_be32(p + 32, h.crypt_method);
  store_be32(p + 36, h.l1_size);
  store_be64(p + 40, h.l1_table_offset);
  store_be64(p + 48, h.refcount_table_offset);
  store_be32(p + 56, h.refcount_table_clusters);
  store_be32(p + 60, h.nb_snapshots);
  store_be64(p + 64, h.snapshots_offset);
  if (h.version >= 3) {
    store_be64(p + 72, h.incompatible_features);
    store_be64(p + 80, h.compatible_features);
    store_be64(p + 88, h.autoclear_features);
    store_be32(p + 96, h.refcount_order);
    store_be32(p + 100, h.header_length);
    p[104] = h.compression_type;
  }
  auto add_ext = [&](uint32_t type, const uint8_t* data, size_t len) {
    size_t at = buf.size();
    buf.resize(at + 8 + align_up(len, 8), 0);
    store_be32(buf.data() + at, type);
    store_be32(buf.data() + at + 4, static_cast<uint32_t>(len));
    if (len) std::memcpy(buf.data() + at + 8, data, len);
  };
  auto as_bytes = [](const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); };
  if (!info.backing_format.empty())
    add_ext(kExtBackingFormat, as_bytes(info.backing_format), info.backing_format.size());
  if (info.has_data_file_ext || !info.data_file.empty())
    add_ext(kExtDataFile, as_bytes(info.data_file), info.data_file.size());
  for (const Extension& e : info.unknown)
    if (e.type == kExtCryptoHeader) add_ext(e.type, e.data.data(), e.data.size());
  if (h.version >= 3) {
    // Our own feature names, plus any unknown entries the image carried.
    std::vector<FeatureName> table;
    const std::pair<uint8_t, uint8_t> known[] = {{0, 0}, {0, 1}, {0, 2}, {0, 3}, {0, 4}, {1, 0}, {2, 0}, {2, 1}};
    for (auto [t, b] : known) table.push_back(FeatureName{t, b, default_feature_name(t, b)});
    for (const FeatureName& f : info.features) {
      bool dup = false;
      for (const FeatureName& k : table) dup |= (k.type == f.type && k.bit == f.bit);
      if (!dup) table.push_back(f);
    }
    std::vector<uint8_t> d(table.size() * 48, 0);
    for (size_t i = 0; i < table.size(); ++i) {
      d[i * 48] = table[i].type;
      d[i * 48 + 1] = table[i].bit;
      std::memcpy(&d[i * 48 + 2], table[i].name.data(), std::min<size_t>(46, table[i].name.size()));
    }
    add_ext(kExtFeatureTable, d.data(), d.size());
  }
  for (const Extension& e : info.unknown)
    if (e.type != kExtCryptoHeader) add_ext(e.type, e.data.data(), e.data.size());
  add_ext(kExtEnd, nullptr, 0);
  if (!info.backing_file.empty()) {
    if (info.backing_file.size() > kMaxBackingFileName)
      return make_error(EINVAL, "'" + name + "': backing file name too long");
    h.backing_file_offset = buf.size();
    h.backing_file_size = static_cast<uint32_t>(info.backing_file.size());
    buf.insert(buf.end(), info.backing_file.begin(), info.backing_file.end());
  } else {
    h.backing_file_offset = 0;
    h.backing_file_size = 0;
  }
  store_be64(buf.data() + 8, h.backing_file_offset);
  store_be32(buf.data() + 16, h.backing_file_size);
  if (buf.size() > cs) return make_error(ENOSPC, "'" + name + "': header extensions do not fit in the first cluster");
  buf.resize(cs, 0);
  std::vector<std::byte> out(cs);
  std::memcpy(out.data(), buf.data(), cs);
  return out;
}

}  // namespace dk::fmt::qcow2
