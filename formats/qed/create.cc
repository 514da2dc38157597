// Creating QED images like QEMU 7.2 (header, backing file name right after
// it, a zeroed L1 table in the second cluster) and the driver table.
#include <fcntl.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "formats/core/checked_math.h"
#include "formats/core/endian.h"
#include "formats/core/file.h"
#include "formats/core/lock.h"
#include "formats/qed/qed.h"

namespace dk::fmt::qed {

namespace {

// A -o number as qemu-img accepts it (the CLI has validated the syntax;
// size suffixes k/M/G/T for cluster_size).
Result<uint64_t> parse_number(const std::string& key, const std::string& v) {
  errno = 0;
  char* end = nullptr;
  unsigned long long n = std::strtoull(v.c_str(), &end, 0);
  if (v.empty() || v[0] == '-' || errno || end == v.c_str())
    return make_error(EINVAL, "Parameter '" + key + "' expects a number");
  uint64_t mult = 1;
  if (*end) {
    switch (*end) {
      case 'b': case 'B': mult = 1; break;
      case 'k': case 'K': mult = 1ull << 10; break;
      case 'm': case 'M': mult = 1ull << 20; break;
      case 'g': case 'G': mult = 1ull << 30; break;
      case 't': case 'T': mult = 1ull << 40; break;
      default: return make_error(EINVAL, "Parameter '" + key + "' expects a number");
    }
    if (end[1]) return make_error(EINVAL, "Parameter '" + key + "' expects a number");
  }
  auto r = checked_mul(n, mult);
  if (!r) return make_error(EINVAL, "Parameter '" + key + "' is too large");
  return *r;
}

int probe(std::span<const std::byte> head, std::string_view) {
  if (head.size() < kHeaderBytes) return 0;
  return load_le32(head.data()) == kMagic ? 100 : 0;
}

constexpr OptionDesc kCreateOptions[] = {
    {"backing_file", "str", "File name of a base image", ""},
    {"backing_fmt", "str", "Image format of the base image", ""},
    {"cluster_size", "size", "Cluster size (in bytes)", "65536"},
    {"size", "size", "Virtual disk size", ""},
    {"table_size", "size", "L1/L2 table size (in clusters)", ""},
};

}  // namespace

Result<void> create_qed(const std::string& path, const CreateSpec& spec) {
  uint64_t cluster_size = kDefaultClusterSize, table_size = kDefaultTableSize;
  uint64_t size = spec.size;
  for (const auto& [key, value] : spec.options) {
    if (key == "cluster_size") cluster_size = DK_TRY(parse_number(key, value));
    else if (key == "table_size") table_size = DK_TRY(parse_number(key, value));
    else if (key == "size") size = DK_TRY(parse_number(key, value));
    else return make_error(EINVAL, "Invalid parameter '" + key + "'");
  }
  if (size > static_cast<uint64_t>(INT64_MAX) - 511) return make_error(EINVAL, "Image size is too large");
  size = align_up(size, 512);
  if (!cluster_size_valid(cluster_size))
    return make_error(EINVAL, "QED cluster size must be within range [4096, 67108864] and power of 2");
  if (!table_size_valid(table_size))
    return make_error(EINVAL, "QED table size must be within range [1, 16] and power of 2");
  if (!image_size_valid(size, cluster_size, table_size))
    return make_error(EINVAL, "QED image size must be a non-zero multiple of cluster size and less than " +
                                  std::to_string(max_image_size(cluster_size, table_size)) + " bytes");
  if (cluster_size * table_size > kMaxTableBytes)
    return make_error(ENOTSUP, "QED tables of " + std::to_string(cluster_size * table_size) +
                                   " bytes are larger than diskit supports");
  const std::string& backing = spec.backing_file;
  if (kHeaderBytes + backing.size() > cluster_size || backing.size() > kMaxBackingNameBytes)
    return make_error(EINVAL, "Backing file name '" + backing + "' is too long for a QED header");

  Header h;
  h.magic = kMagic;
  h.cluster_size = static_cast<uint32_t>(cluster_size);
  h.table_size = static_cast<uint32_t>(table_size);
  h.header_size = 1;
  h.l1_table_offset = cluster_size;
  h.image_size = size;
  if (!backing.empty()) {
    h.features |= kFeatureBackingFile;
    h.backing_filename_offset = kHeaderBytes;
    h.backing_filename_size = static_cast<uint32_t>(backing.size());
    // Only raw is recorded (as "do not probe"); other formats are probed.
    if (spec.backing_format == "raw") h.features |= kFeatureBackingFormatNoProbe;
  }

  // QED ties allocation to the file length: start from an empty file.
  File f = DK_TRY(create_image_file(path));
  std::vector<std::byte> head(kHeaderBytes + backing.size());
  encode_header(h, std::span<std::byte, kHeaderBytes>(head.data(), kHeaderBytes));
  std::memcpy(head.data() + kHeaderBytes, backing.data(), backing.size());
  DK_TRY(f.pwrite_all(0, head));
  // The L1 table is written as real zeroes (QEMU does; it shows in disk size).
  std::vector<std::byte> zero(std::min<uint64_t>(cluster_size * table_size, 1u << 20));
  for (uint64_t done = 0; done < cluster_size * table_size;) {
    uint64_t n = std::min<uint64_t>(zero.size(), cluster_size * table_size - done);
    DK_TRY(f.pwrite_all(cluster_size + done, std::span<const std::byte>(zero).first(n)));
    done += n;
  }
  return f.flush();
}

}  // namespace dk::fmt::qed

namespace dk::fmt {
extern const FormatDriver kQedDriver = {"qed", qed::probe, qed::open_qed, qed::create_qed,
                                        qed::kCreateOptions, true};
}  // namespace dk::fmt
