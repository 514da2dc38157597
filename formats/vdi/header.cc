// The VDI header and block map: decoding, encoding, validation, UUIDs, probe.
#include <sys/random.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "formats/core/checked_math.h"
#include "formats/core/endian.h"
#include "formats/vdi/vdi.h"

namespace dk::fmt::vdi {

namespace {

// Byte offsets of the fields in the header sector.
enum : size_t {
  kOffText = 0x00,
  kOffSignature = 0x40,
  kOffVersion = 0x44,
  kOffHeaderSize = 0x48,
  kOffImageType = 0x4c,
  kOffImageFlags = 0x50,
  kOffDescription = 0x54,
  kOffOffsetBmap = 0x154,
  kOffOffsetData = 0x158,
  kOffCylinders = 0x15c,
  kOffHeads = 0x160,
  kOffSectors = 0x164,
  kOffSectorSize = 0x168,
  kOffDiskSize = 0x170,
  kOffBlockSize = 0x178,
  kOffBlockExtra = 0x17c,
  kOffBlocksInImage = 0x180,
  kOffBlocksAllocated = 0x184,
  kOffUuidImage = 0x188,
  kOffUuidLastSnap = 0x198,
  kOffUuidLink = 0x1a8,
  kOffUuidParent = 0x1b8,
};

std::string hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

Uuid load_uuid(const std::byte* p) {
  Uuid u;
  std::memcpy(u.data(), p, u.size());
  return u;
}

tl::unexpected<Error> bad(int code, const std::string& name, const std::string& what) {
  return make_error(code, "'" + name + "': " + what);
}

}  // namespace

bool uuid_is_null(const Uuid& u) {
  for (uint8_t b : u)
    if (b) return false;
  return true;
}

std::string uuid_string(const Uuid& u) {
  // VirtualBox stores the first three fields little endian.
  char buf[40];
  std::snprintf(buf, sizeof buf,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[3], u[2],
                u[1], u[0], u[5], u[4], u[7], u[6], u[8], u[9], u[10], u[11], u[12], u[13], u[14],
                u[15]);
  return buf;
}

Uuid uuid_generate() {
  Uuid rfc{};
  size_t got = 0;
  while (got < rfc.size()) {
    ssize_t n = ::getrandom(rfc.data() + got, rfc.size() - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
  }
  rfc[6] = static_cast<uint8_t>((rfc[6] & 0x0f) | 0x40);  // version 4 (random)
  rfc[8] = static_cast<uint8_t>((rfc[8] & 0x3f) | 0x80);  // RFC 4122 variant
  // RFC (big endian) order to VirtualBox order.
  return Uuid{rfc[3], rfc[2], rfc[1], rfc[0], rfc[5], rfc[4], rfc[7], rfc[6],
              rfc[8], rfc[9], rfc[10], rfc[11], rfc[12], rfc[13], rfc[14], rfc[15]};
}

Header decode_header(const HeaderSector& s) {
  const std::byte* p = s.data();
  Header h;
  const char* text = reinterpret_cast<const char*>(p + kOffText);
  h.text.assign(text, strnlen(text, 0x40));
  h.signature = load_le32(p + kOffSignature);
  h.version = load_le32(p + kOffVersion);
  h.header_size = load_le32(p + kOffHeaderSize);
  h.image_type = load_le32(p + kOffImageType);
  h.image_flags = load_le32(p + kOffImageFlags);
  h.offset_bmap = load_le32(p + kOffOffsetBmap);
  h.offset_data = load_le32(p + kOffOffsetData);
  h.cylinders = load_le32(p + kOffCylinders);
  h.heads = load_le32(p + kOffHeads);
  h.sectors = load_le32(p + kOffSectors);
  h.sector_size = load_le32(p + kOffSectorSize);
  h.disk_size = load_le64(p + kOffDiskSize);
  h.block_size = load_le32(p + kOffBlockSize);
  h.block_extra = load_le32(p + kOffBlockExtra);
  h.blocks_in_image = load_le32(p + kOffBlocksInImage);
  h.blocks_allocated = load_le32(p + kOffBlocksAllocated);
  h.uuid_image = load_uuid(p + kOffUuidImage);
  h.uuid_last_snap = load_uuid(p + kOffUuidLastSnap);
  h.uuid_link = load_uuid(p + kOffUuidLink);
  h.uuid_parent = load_uuid(p + kOffUuidParent);
  return h;
}

void encode_header(const Header& h, HeaderSector& s) {
  std::byte* p = s.data();
  std::memset(p + kOffText, 0, 0x40);
  std::memcpy(p + kOffText, h.text.data(), std::min<size_t>(h.text.size(), 0x3f));
  store_le32(p + kOffSignature, h.signature);
  store_le32(p + kOffVersion, h.version);
  store_le32(p + kOffHeaderSize, h.header_size);
  store_le32(p + kOffImageType, h.image_type);
  store_le32(p + kOffImageFlags, h.image_flags);
  store_le32(p + kOffOffsetBmap, h.offset_bmap);
  store_le32(p + kOffOffsetData, h.offset_data);
  store_le32(p + kOffCylinders, h.cylinders);
  store_le32(p + kOffHeads, h.heads);
  store_le32(p + kOffSectors, h.sectors);
  store_le32(p + kOffSectorSize, h.sector_size);
  store_le64(p + kOffDiskSize, h.disk_size);
  store_le32(p + kOffBlockSize, h.block_size);
  store_le32(p + kOffBlockExtra, h.block_extra);
  store_le32(p + kOffBlocksInImage, h.blocks_in_image);
  store_le32(p + kOffBlocksAllocated, h.blocks_allocated);
  std::memcpy(p + kOffUuidImage, h.uuid_image.data(), 16);
  std::memcpy(p + kOffUuidLastSnap, h.uuid_last_snap.data(), 16);
  std::memcpy(p + kOffUuidLink, h.uuid_link.data(), 16);
  std::memcpy(p + kOffUuidParent, h.uuid_parent.data(), 16);
}

// The checks QEMU 7.2's vdi_open makes (same wording), plus the ones a
// hostile file needs: the block map must not overlap the header or the
// data, and must lie inside the file.
Result<void> validate_header(const Header& h, uint64_t file_size, const std::string& name) {
  if (h.signature != kSignature) {
    char sig[16];
    std::snprintf(sig, sizeof sig, "%08" PRIx32, h.signature);
    return bad(EINVAL, name, std::string("Image not in VDI format (bad signature ") + sig + ")");
  }
  if (h.version != kVersion11)
    return bad(ENOTSUP, name, "unsupported VDI image (version " + std::to_string(h.version >> 16) +
                                  "." + std::to_string(h.version & 0xffff) + ")");
  if (h.disk_size > kMaxDiskSize)
    return bad(ENOTSUP, name, "Unsupported VDI image size (size is " + hex(h.disk_size) +
                                  ", max supported is " + hex(kMaxDiskSize) + ")");
  if (h.image_type < kTypeDynamic || h.image_type > kTypeDiff)
    return bad(ENOTSUP, name, "unsupported VDI image (image type " + std::to_string(h.image_type) + ")");
  if (h.offset_bmap % kSectorSize)
    return bad(ENOTSUP, name, "unsupported VDI image (unaligned block map offset " + hex(h.offset_bmap) + ")");
  if (h.offset_data % kSectorSize)
    return bad(ENOTSUP, name, "unsupported VDI image (unaligned data offset " + hex(h.offset_data) + ")");
  if (h.sector_size != kSectorSize)
    return bad(ENOTSUP, name, "unsupported VDI image (sector size " + std::to_string(h.sector_size) +
                                  " is not 512)");
  if (h.block_size != kBlockSize)
    return bad(ENOTSUP, name, "unsupported VDI image (block size " + std::to_string(h.block_size) +
                                  " is not 1048576)");
  if (h.block_extra != 0)
    return bad(ENOTSUP, name, "unsupported VDI image (block extra " + std::to_string(h.block_extra) +
                                  " is not 0)");
  const uint64_t room = uint64_t{h.blocks_in_image} * kBlockSize;
  if (align_up(h.disk_size, kSectorSize) > room)
    return bad(ENOTSUP, name, "unsupported VDI image (disk size " + std::to_string(h.disk_size) +
                                  ", image bitmap has room for " + std::to_string(room) + ")");
  if (h.blocks_in_image > kMaxBlocks)
    return bad(ENOTSUP, name, "unsupported VDI image (too many blocks " +
                                  std::to_string(h.blocks_in_image) + ", max is " +
                                  std::to_string(kMaxBlocks) + ")");
  if (h.blocks_allocated > h.blocks_in_image)
    return bad(EINVAL, name, "blocks allocated (" + std::to_string(h.blocks_allocated) +
                                 ") exceeds the number of blocks in the image (" +
                                 std::to_string(h.blocks_in_image) + ")");
  if (h.offset_bmap < kHeaderBytes)
    return bad(EINVAL, name, "block map offset " + hex(h.offset_bmap) + " overlaps the header");
  const uint64_t bmap_end = uint64_t{h.offset_bmap} + uint64_t{h.blocks_in_image} * 4;
  if (bmap_end > h.offset_data)
    return bad(EINVAL, name, "block map (" + std::to_string(h.blocks_in_image) + " entries at offset " +
                                 hex(h.offset_bmap) + ") overlaps the data area at offset " +
                                 hex(h.offset_data));
  if (bmap_end > file_size)
    return bad(EINVAL, name, "block map at offset " + hex(h.offset_bmap) + " (" +
                                 std::to_string(bmap_end - h.offset_bmap) +
                                 " bytes) is beyond the end of the file (" + std::to_string(file_size) +
                                 " bytes)");
  if (h.offset_data > file_size)
    return bad(EINVAL, name, "data offset " + hex(h.offset_data) + " is beyond the end of the file (" +
                                 std::to_string(file_size) + " bytes)");
  return {};
}

Result<BmapStats> check_bmap(const Header& h, std::span<const uint32_t> bmap, uint64_t file_size,
                             const std::string& name) {
  BmapStats st;
  // owner[i]: the block that uses data block i (kBlockFree: none yet).
  std::vector<uint32_t> owner(h.blocks_in_image, kBlockFree);
  for (uint32_t block = 0; block < bmap.size(); block++) {
    const uint32_t index = bmap[block];
    if (!is_allocated(index)) continue;
    if (index >= h.blocks_in_image)
      return bad(EINVAL, name, "block map entry of block " + std::to_string(block) + " points to data block " +
                                   std::to_string(index) + ", beyond the " +
                                   std::to_string(h.blocks_in_image) + " blocks of the image");
    if (owner[index] != kBlockFree)
      return bad(EINVAL, name, "blocks " + std::to_string(owner[index]) + " and " + std::to_string(block) +
                                   " both use data block " + std::to_string(index));
    owner[index] = block;
    const uint64_t start = uint64_t{h.offset_data} + uint64_t{index} * kBlockSize;
    if (start >= file_size)
      return bad(EINVAL, name, "data of block " + std::to_string(block) + " at offset " + hex(start) +
                                   " is beyond the end of the file (" + std::to_string(file_size) +
                                   " bytes)");
    st.allocated++;
    st.next_index = std::max(st.next_index, index + 1);
  }
  return st;
}

int probe(std::span<const std::byte> head, std::string_view) {
  if (head.size() < kHeaderBytes) return 0;
  return load_le32(head.data() + kOffSignature) == kSignature ? 100 : 0;
}

}  // namespace dk::fmt::vdi
