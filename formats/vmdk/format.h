// VMDK on-disk structures and constants, named after VMware's "Virtual Disk
// Format 5.0" technote (SparseExtentHeader, grain directory/table, markers).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "formats/core/error.h"

namespace dk::fmt::vmdk {

inline constexpr uint64_t kSector = 512;
inline constexpr uint32_t kSparseMagic = 0x564d444b;  // "KDMV" little-endian
inline constexpr uint32_t kCowdMagic = 0x44574f43;    // "COWD" (VMFSSPARSE, ESX 2.x)

// SparseExtentHeader.flags
inline constexpr uint32_t kFlagNlDetect = 1u << 0;       // newline test bytes are valid
inline constexpr uint32_t kFlagRedundantGt = 1u << 1;    // redundant grain directory/tables
inline constexpr uint32_t kFlagZeroGrain = 1u << 2;      // GTE 1 means "grain reads as zero"
inline constexpr uint32_t kFlagCompressed = 1u << 16;    // grains are compressed
inline constexpr uint32_t kFlagMarkers = 1u << 17;       // stream markers present

inline constexpr uint16_t kCompressionDeflate = 1;
inline constexpr uint64_t kGdAtEnd = 0xffffffffffffffffull;  // gdOffset: see the footer
inline constexpr uint32_t kGteZeroed = 1;                    // grain table entry: zeroed grain

// Stream marker types (MarkerType in the spec).
inline constexpr uint32_t kMarkerEos = 0;
inline constexpr uint32_t kMarkerGt = 1;
inline constexpr uint32_t kMarkerGd = 2;
inline constexpr uint32_t kMarkerFooter = 3;
// A grain marker is lba (u64) + size (u32) followed directly by the data.
inline constexpr size_t kGrainMarkerSize = 12;

// Limits against hostile headers (QEMU has similar ones).
inline constexpr uint64_t kMaxGrainSectors = 128 * 16;        // 1 MiB grains
inline constexpr uint32_t kMaxGtes = 1u << 16;                // entries per grain table
inline constexpr uint64_t kMaxGdEntries = 16u << 20;          // 64 MiB grain directory
inline constexpr uint64_t kMaxCapacitySectors = 1ull << 41;   // 1 PiB per extent
inline constexpr uint64_t kMaxDescriptorBytes = 1u << 20;

// SparseExtentHeader (512 bytes, little-endian, packed), host-endian copy.
struct SparseExtentHeader {
  uint32_t magicNumber = kSparseMagic;
  uint32_t version = 1;
  uint32_t flags = 0;
  uint64_t capacity = 0;          // sectors
  uint64_t grainSize = 128;       // sectors
  uint64_t descriptorOffset = 0;  // sectors
  uint64_t descriptorSize = 0;    // sectors
  uint32_t numGTEsPerGT = 512;
  uint64_t rgdOffset = 0;         // sectors
  uint64_t gdOffset = 0;          // sectors
  uint64_t overHead = 0;          // sectors
  uint8_t uncleanShutdown = 0;
  uint16_t compressAlgorithm = 0;
};

inline constexpr size_t kHeaderSize = 512;

// Decodes the 512-byte header; no validation beyond the magic.
Result<SparseExtentHeader> decode_header(std::span<const std::byte> buf, const std::string& file);
// Encodes to 512 bytes (with the newline-detection bytes).
void encode_header(const SparseExtentHeader& h, std::span<std::byte> out);

// A stream metadata marker (512 bytes): numSectors, size (0), type.
void encode_marker(uint64_t num_sectors, uint32_t type, std::span<std::byte> out);

}  // namespace dk::fmt::vmdk
