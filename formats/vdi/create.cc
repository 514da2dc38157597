// Creating VDI images (`create -f vdi [-o static=on]`) and the driver table.
#include <fcntl.h>

#include <cinttypes>
#include <cstdio>

#include "formats/core/checked_math.h"
#include "formats/core/endian.h"
#include "formats/core/lock.h"
#include "formats/vdi/vdi.h"

namespace dk::fmt::vdi {

namespace {

Result<bool> parse_bool(const std::string& key, const std::string& v) {
  if (v == "on" || v == "yes" || v == "true" || v == "y") return true;
  if (v == "off" || v == "no" || v == "false" || v == "n") return false;
  return make_error(EINVAL, "Parameter '" + key + "' expects 'on' or 'off'");
}

// A plain byte count or a number with a K/M/G/T/P/E suffix (powers of 1024).
Result<uint64_t> parse_size(const std::string& key, const std::string& v) {
  char* end = nullptr;
  errno = 0;
  unsigned long long n = std::strtoull(v.c_str(), &end, 10);
  if (v.empty() || v[0] == '-' || errno || end == v.c_str())
    return make_error(EINVAL, "Parameter '" + key + "' expects a size");
  static const std::string kSuffixes = "BKMGTPE";
  uint64_t mult = 1;
  if (*end) {
    size_t i = kSuffixes.find(static_cast<char>(std::toupper(static_cast<unsigned char>(*end))));
    if (i == std::string::npos || end[1]) return make_error(EINVAL, "Parameter '" + key + "' expects a size");
    mult = uint64_t{1} << (10 * i);
  }
  auto r = checked_mul(n, mult);
  if (!r) return make_error(EINVAL, "Parameter '" + key + "' expects a size");
  return *r;
}

std::string hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

// Writes the block map in 1 MiB pieces (a 512 TiB disk has a 2 GiB map).
Result<void> write_bmap(File& f, uint64_t offset, uint32_t blocks, bool is_static) {
  constexpr uint32_t kChunk = 1u << 18;  // entries per write
  std::vector<std::byte> buf;
  for (uint32_t first = 0; first < blocks;) {
    const uint32_t n = std::min(kChunk, blocks - first);
    buf.assign(size_t{n} * 4, std::byte{0});
    for (uint32_t i = 0; i < n; i++) store_le32(buf.data() + size_t{i} * 4, is_static ? first + i : kBlockFree);
    DK_TRY(f.pwrite_all(offset + uint64_t{first} * 4, buf));
    first += n;
  }
  return {};
}

}  // namespace

Result<void> create_vdi(const std::string& path, const CreateSpec& spec) {
  uint64_t size = spec.size;
  bool is_static = false;
  for (const auto& [key, value] : spec.options) {
    if (key == "size") size = DK_TRY(parse_size(key, value));
    else if (key == "static") is_static = DK_TRY(parse_bool(key, value));
    else return make_error(EINVAL, "Invalid parameter '" + key + "'");
  }
  if (!spec.backing_file.empty())
    return make_error(ENOTSUP, "Backing file not supported for file format 'vdi'");
  if (size > kMaxDiskSize)
    return make_error(ENOTSUP, "Unsupported VDI image size (size is " + hex(size) +
                                   ", max supported is " + hex(kMaxDiskSize) + ")");
  size = align_up(size, kSectorSize);
  const uint32_t blocks = static_cast<uint32_t>(div_round_up(size, kBlockSize));
  const uint64_t bmap_bytes = align_up(uint64_t{blocks} * 4, kSectorSize);

  Header h;
  h.text = kText;
  h.signature = kSignature;
  h.version = kVersion11;
  h.header_size = kHeaderSize;
  h.image_type = is_static ? kTypeStatic : kTypeDynamic;
  h.offset_bmap = kHeaderBytes;
  h.offset_data = static_cast<uint32_t>(kHeaderBytes + bmap_bytes);
  h.sector_size = kSectorSize;  // the legacy geometry stays 0/0/0 as QEMU writes it
  h.disk_size = size;
  h.block_size = kBlockSize;
  h.blocks_in_image = blocks;
  h.blocks_allocated = is_static ? blocks : 0;
  // Like VirtualBox: random creation and modification UUIDs, no links.
  h.uuid_image = uuid_generate();
  h.uuid_last_snap = uuid_generate();
  HeaderSector raw{};
  encode_header(h, raw);

  File f = DK_TRY(create_image_file(path));
  DK_TRY(f.pwrite_all(0, raw));
  DK_TRY(write_bmap(f, h.offset_bmap, blocks, is_static));
  // Static images are preallocated as QEMU does it: a sparse file of full size.
  const uint64_t end = h.offset_data + (is_static ? uint64_t{blocks} * kBlockSize : 0);
  DK_TRY(f.truncate(end));
  return f.flush();
}

namespace {

constexpr OptionDesc kCreateOptions[] = {
    {"size", "size", "Virtual disk size", ""},
    {"static", "bool", "VDI static (pre-allocated) image", "off"},
};

}  // namespace

}  // namespace dk::fmt::vdi

namespace dk::fmt {

extern const FormatDriver kVdiDriver = {"vdi", vdi::probe, vdi::open_vdi, vdi::create_vdi,
                                        vdi::kCreateOptions, false};

}  // namespace dk::fmt
