// QED (QEMU Enhanced Disk): on-disk definitions, header validation and the
// driver's entry points. Layout and field names follow QEMU's
// docs/interop/qed_spec.txt; all fields are little-endian.
//
//   +--------+----------+----------+----------+-----+
//   | header | L1 table | cluster0 | cluster1 | ... |
//   +--------+----------+----------+----------+-----+
//
// The L1 table (table_size clusters) points at L2 tables (same size), whose
// entries point at data clusters: 0 = unallocated (read the backing file),
// 1 = zero cluster, otherwise the cluster's byte offset in the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "formats/core/error.h"
#include "formats/driver.h"
#include "formats/layer.h"

namespace dk::fmt::qed {

inline constexpr uint32_t kMagic = 'Q' | 'E' << 8 | 'D' << 16;

// features
inline constexpr uint64_t kFeatureBackingFile = 0x01;
inline constexpr uint64_t kFeatureNeedCheck = 0x02;
// The backing file is raw: never probe it.
inline constexpr uint64_t kFeatureBackingFormatNoProbe = 0x04;
inline constexpr uint64_t kFeatureMask = 0x07;
inline constexpr uint64_t kCompatFeatureMask = 0;
inline constexpr uint64_t kAutoclearFeatureMask = 0;

inline constexpr uint32_t kMinClusterSize = 4u << 10;
inline constexpr uint32_t kMaxClusterSize = 64u << 20;
inline constexpr uint32_t kDefaultClusterSize = 64u << 10;
inline constexpr uint32_t kMinTableSize = 1;   // in clusters
inline constexpr uint32_t kMaxTableSize = 16;
inline constexpr uint32_t kDefaultTableSize = 4;

// Size of the fixed header structure.
inline constexpr size_t kHeaderBytes = 64;
// L2 entry meaning "reads as zero".
inline constexpr uint64_t kZeroCluster = 1;
// QEMU reads the backing file name into a PATH_MAX buffer (NUL included).
inline constexpr uint32_t kMaxBackingNameBytes = 4095;
// diskit keeps the L1 table in memory; refuse tables larger than this
// (QEMU's maximum, 16 clusters of 64 MiB, is 1 GiB).
inline constexpr uint64_t kMaxTableBytes = 256u << 20;

struct Header {
  uint32_t magic = 0;
  uint32_t cluster_size = 0;       // in bytes
  uint32_t table_size = 0;         // L1 and L2 tables, in clusters
  uint32_t header_size = 0;        // in clusters
  uint64_t features = 0;
  uint64_t compat_features = 0;
  uint64_t autoclear_features = 0;
  uint64_t l1_table_offset = 0;    // in bytes
  uint64_t image_size = 0;         // guest size in bytes
  uint32_t backing_filename_offset = 0;  // from the start of the file
  uint32_t backing_filename_size = 0;
};

Header decode_header(std::span<const std::byte, kHeaderBytes> in);
void encode_header(const Header& h, std::span<std::byte, kHeaderBytes> out);

bool cluster_size_valid(uint64_t cluster_size);
bool table_size_valid(uint64_t table_size);
// Largest guest size a geometry addresses: (entries per table)^2 * cluster.
uint64_t max_image_size(uint64_t cluster_size, uint64_t table_size);
bool image_size_valid(uint64_t image_size, uint64_t cluster_size, uint64_t table_size);

// Offsets valid for one image: a cluster lies after the header and starts
// before `file_end` (the allocation end, a cluster multiple).
struct Geometry {
  uint64_t cluster_size = 0;
  uint64_t table_clusters = 0;
  uint64_t header_bytes = 0;
  uint64_t file_end = 0;

  uint64_t table_bytes() const { return cluster_size * table_clusters; }
  uint64_t table_entries() const { return table_bytes() / 8; }
  bool cluster_offset_valid(uint64_t off) const {
    return off % cluster_size == 0 && off >= header_bytes && off < file_end;
  }
  // Every cluster of a table starting at off is valid.
  bool table_offset_valid(uint64_t off) const;
};

// Checks a decoded header against the size of its file (everything QEMU 7.2
// checks on open, in its order). `name` names the file in messages.
Result<void> validate_header(const Header& h, uint64_t file_size, const std::string& name);

// Result of the consistency scan (QEMU's BdrvCheckResult for qed).
struct CheckResult {
  uint64_t corruptions = 0;        // left unfixed
  uint64_t corruptions_fixed = 0;
  uint64_t leaks = 0;
  uint64_t check_errors = 0;
  uint64_t allocated_clusters = 0;
  uint64_t fragmented_clusters = 0;
  uint64_t total_clusters = 0;
};

// Opens a QED image (and takes QEMU-compatible locks). A writable open of an
// image with the need-check flag runs the consistency scan, fixing invalid
// table entries, and clears the flag when nothing unfixable was found.
Result<std::unique_ptr<Layer>> open_qed(const std::string& path, const OpenOptions& opts);

// Creates `path` exactly as QEMU 7.2's qed create does (header, backing
// name right after it, zeroed L1 table in the second cluster).
Result<void> create_qed(const std::string& path, const CreateSpec& spec);

// Runs the consistency scan on an open QED layer (fix: clear invalid
// entries and, when clean afterwards, the need-check flag). EINVAL when
// `layer` is not a QED layer.
Result<CheckResult> check_qed(Layer& layer, bool fix);

}  // namespace dk::fmt::qed
