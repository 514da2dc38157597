// QED header encoding and the validity rules QEMU 7.2 applies on open.
#include <cinttypes>
#include <cstdio>

#include "formats/core/checked_math.h"
#include "formats/core/endian.h"
#include "formats/qed/qed.h"

namespace dk::fmt::qed {

namespace {

std::string hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

}  // namespace

Header decode_header(std::span<const std::byte, kHeaderBytes> in) {
  const std::byte* p = in.data();
  Header h;
  h.magic = load_le32(p + 0);
  h.cluster_size = load_le32(p + 4);
  h.table_size = load_le32(p + 8);
  h.header_size = load_le32(p + 12);
  h.features = load_le64(p + 16);
  h.compat_features = load_le64(p + 24);
  h.autoclear_features = load_le64(p + 32);
  h.l1_table_offset = load_le64(p + 40);
  h.image_size = load_le64(p + 48);
  h.backing_filename_offset = load_le32(p + 56);
  h.backing_filename_size = load_le32(p + 60);
  return h;
}

void encode_header(const Header& h, std::span<std::byte, kHeaderBytes> out) {
  std::byte* p = out.data();
  store_le32(p + 0, h.magic);
  store_le32(p + 4, h.cluster_size);
  store_le32(p + 8, h.table_size);
  store_le32(p + 12, h.header_size);
  store_le64(p + 16, h.features);
  store_le64(p + 24, h.compat_features);
  store_le64(p + 32, h.autoclear_features);
  store_le64(p + 40, h.l1_table_offset);
  store_le64(p + 48, h.image_size);
  store_le32(p + 56, h.backing_filename_offset);
  store_le32(p + 60, h.backing_filename_size);
}

bool cluster_size_valid(uint64_t cs) {
  return cs >= kMinClusterSize && cs <= kMaxClusterSize && is_pow2(cs);
}

bool table_size_valid(uint64_t ts) { return ts >= kMinTableSize && ts <= kMaxTableSize && is_pow2(ts); }

uint64_t max_image_size(uint64_t cs, uint64_t ts) {
  // Valid geometries stay far below 2^64 (at most 2^27 entries, 2^26-byte
  // clusters: 2^80 would overflow, so saturate).
  uint64_t entries = ts * cs / 8;
  auto l2_span = checked_mul(entries, cs);
  if (!l2_span) return UINT64_MAX;
  auto total = checked_mul(*l2_span, entries);
  return total ? *total : UINT64_MAX;
}

bool image_size_valid(uint64_t size, uint64_t cs, uint64_t ts) {
  return size % 512 == 0 && size <= max_image_size(cs, ts);
}

bool Geometry::table_offset_valid(uint64_t off) const {
  // QEMU 7.2 requires the last cluster of the table to lie strictly after
  // the first (so it can never open images with one-cluster tables); keep
  // its rule so both tools accept the same files.
  auto span = checked_mul(table_clusters - 1, cluster_size);
  if (!span || *span == 0) return false;
  auto last = checked_add(off, *span);
  if (!last) return false;
  return cluster_offset_valid(off) && cluster_offset_valid(*last);
}

Result<void> validate_header(const Header& h, uint64_t file_size, const std::string& name) {
  const std::string q = "'" + name + "': ";
  if (h.magic != kMagic) return make_error(EINVAL, q + "Image not in QED format");
  if (h.features & ~kFeatureMask)
    return make_error(ENOTSUP, q + "Unsupported QED features: " + hex(h.features & ~kFeatureMask).substr(2));
  if (!cluster_size_valid(h.cluster_size))
    return make_error(EINVAL, q + "invalid QED cluster size " + std::to_string(h.cluster_size) +
                                  " (must be a power of two in [4096, 67108864])");
  if (!table_size_valid(h.table_size))
    return make_error(EINVAL, q + "invalid QED table size " + std::to_string(h.table_size) +
                                  " (must be a power of two in [1, 16] clusters)");
  if (!image_size_valid(h.image_size, h.cluster_size, h.table_size))
    return make_error(EINVAL, q + "invalid QED image size " + std::to_string(h.image_size) +
                                  " (must be a multiple of 512 and at most " +
                                  std::to_string(max_image_size(h.cluster_size, h.table_size)) + ")");
  if (uint64_t{h.cluster_size} * h.table_size > kMaxTableBytes)
    return make_error(ENOTSUP, q + "QED tables of " + std::to_string(uint64_t{h.cluster_size} * h.table_size) +
                                   " bytes are larger than diskit supports");
  Geometry g{h.cluster_size, h.table_size, uint64_t{h.header_size} * h.cluster_size,
             align_down(file_size, h.cluster_size)};
  if (h.header_size == 0 || h.header_size > UINT32_MAX / h.cluster_size)
    return make_error(EINVAL, q + "invalid QED header size " + std::to_string(h.header_size) + " clusters");
  if (!g.table_offset_valid(h.l1_table_offset)) {
    if (h.table_size == 1)
      return make_error(EINVAL, q + "QED table offset is invalid (QEMU cannot open images with "
                                    "table_size=1 either)");
    return make_error(EINVAL, q + "QED table offset is invalid: L1 table at " + hex(h.l1_table_offset) +
                                  " is not cluster aligned, overlaps the header or is beyond the end "
                                  "of the file");
  }
  if (h.features & kFeatureBackingFile) {
    if (uint64_t{h.backing_filename_offset} + h.backing_filename_size > g.header_bytes)
      return make_error(EINVAL, q + "QED backing file name (offset " +
                                    std::to_string(h.backing_filename_offset) + ", " +
                                    std::to_string(h.backing_filename_size) +
                                    " bytes) is outside the header");
    if (h.backing_filename_size > kMaxBackingNameBytes)
      return make_error(EINVAL, q + "QED backing file name is too long (" +
                                    std::to_string(h.backing_filename_size) + " bytes)");
  }
  return {};
}

}  // namespace dk::fmt::qed
