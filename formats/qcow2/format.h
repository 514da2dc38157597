// qcow2 on-disk structures and constants (QEMU docs/interop/qcow2.txt).
// Field names follow the specification. All on-disk integers are big-endian.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dk::fmt::qcow2 {

inline constexpr uint32_t kMagic = 0x514649fb;  // "QFI\xfb"

// Header extension types.
inline constexpr uint32_t kExtEnd = 0;
inline constexpr uint32_t kExtBackingFormat = 0xe2792aca;
inline constexpr uint32_t kExtFeatureTable = 0x6803f857;
inline constexpr uint32_t kExtBitmaps = 0x23852875;
inline constexpr uint32_t kExtCryptoHeader = 0x0537be77;
inline constexpr uint32_t kExtDataFile = 0x44415441;

// Feature bits.
inline constexpr uint64_t kIncompatDirty = 1u << 0;
inline constexpr uint64_t kIncompatCorrupt = 1u << 1;
inline constexpr uint64_t kIncompatDataFile = 1u << 2;
inline constexpr uint64_t kIncompatCompression = 1u << 3;
inline constexpr uint64_t kIncompatExtendedL2 = 1u << 4;
inline constexpr uint64_t kIncompatKnown = 0x1f;
inline constexpr uint64_t kCompatLazyRefcounts = 1u << 0;
inline constexpr uint64_t kAutoclearBitmaps = 1u << 0;
inline constexpr uint64_t kAutoclearDataFileRaw = 1u << 1;
inline constexpr uint64_t kAutoclearKnown = kAutoclearDataFileRaw;

// Compression types (header byte 104).
inline constexpr uint8_t kCompressionZlib = 0;
inline constexpr uint8_t kCompressionZstd = 1;

// L1/L2 entry bits.
inline constexpr uint64_t kOflagCopied = 1ull << 63;
inline constexpr uint64_t kOflagCompressed = 1ull << 62;
inline constexpr uint64_t kOflagZero = 1ull << 0;
inline constexpr uint64_t kL1OffsetMask = 0x00fffffffffffe00ull;
inline constexpr uint64_t kL2OffsetMask = 0x00fffffffffffe00ull;
inline constexpr uint64_t kRefTableOffsetMask = 0xfffffffffffffe00ull;
inline constexpr uint64_t kL1ReservedMask = 0x7f000000000001ffull;

inline constexpr uint32_t kSubclustersPerCluster = 32;

// QEMU's limits.
inline constexpr uint32_t kMinClusterBits = 9;
inline constexpr uint32_t kMaxClusterBits = 21;
inline constexpr uint64_t kMaxL1Bytes = 32ull << 20;
inline constexpr uint64_t kMaxRefTableBytes = 8ull << 20;
inline constexpr uint32_t kMaxSnapshots = 65536;
inline constexpr uint64_t kMaxSnapshotTableBytes = 64ull << 20;
inline constexpr uint32_t kMaxBackingFileName = 1023;
inline constexpr uint32_t kMaxSnapshotExtra = 1024;
inline constexpr uint32_t kV2HeaderLength = 72;
inline constexpr uint32_t kV3HeaderLength = 104;
inline constexpr uint32_t kV3HeaderLengthWithCompression = 112;

// The fixed header as parsed from disk (v2 fields are defaulted for v3 ones).
struct Header {
  uint32_t magic = kMagic;
  uint32_t version = 3;
  uint64_t backing_file_offset = 0;
  uint32_t backing_file_size = 0;
  uint32_t cluster_bits = 16;
  uint64_t size = 0;
  uint32_t crypt_method = 0;
  uint32_t l1_size = 0;
  uint64_t l1_table_offset = 0;
  uint64_t refcount_table_offset = 0;
  uint32_t refcount_table_clusters = 0;
  uint32_t nb_snapshots = 0;
  uint64_t snapshots_offset = 0;
  // Version 3 only:
  uint64_t incompatible_features = 0;
  uint64_t compatible_features = 0;
  uint64_t autoclear_features = 0;
  uint32_t refcount_order = 4;
  uint32_t header_length = kV2HeaderLength;
  uint8_t compression_type = kCompressionZlib;
};

// One header extension kept verbatim (unknown types are preserved on rewrite).
struct Extension {
  uint32_t type = 0;
  std::vector<uint8_t> data;
};

// One feature table entry.
struct FeatureName {
  uint8_t type = 0;  // 0 incompatible, 1 compatible, 2 autoclear
  uint8_t bit = 0;
  std::string name;
};

// Everything stored in the header cluster.
struct HeaderInfo {
  Header h;
  std::string backing_file;
  std::string backing_format;
  std::string data_file;
  bool has_data_file_ext = false;
  std::vector<FeatureName> features;
  std::vector<Extension> unknown;  // everything except backing format, feature table, data file
};

// Parses the header cluster bytes (at least the first cluster of the file).
// `name` names the file in errors.
struct ParseLimits {
  uint64_t file_size = 0;
};

}  // namespace dk::fmt::qcow2

namespace dk::fmt::qcow2 {
// "0x1234" for error messages.
std::string hex(uint64_t v);
}  // namespace dk::fmt::qcow2
