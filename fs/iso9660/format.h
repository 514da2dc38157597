// ISO 9660 on-disk layout (ECMA-119 4th edition), parsed into plain
// structs. Internal to fs/iso9660.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "formats/core/endian.h"
#include "fs/vfs.h"

namespace dk::fs::iso {

inline constexpr uint64_t kSectorSize = 2048;          // logical sector (ECMA-119 6.1.2)
inline constexpr uint64_t kSystemAreaSectors = 16;     // volume descriptors start at sector 16
inline constexpr int kMaxVolumeDescriptors = 64;       // set terminator expected before this
inline constexpr uint64_t kMaxDirBytes = 32u << 20;    // one directory's extent
inline constexpr size_t kMaxDirEntries = size_t{1} << 18;
inline constexpr size_t kMaxExtentsPerFile = 1u << 16;  // multi-extent records of one file
inline constexpr int kMaxDepth = 1024;                 // directory nesting
inline constexpr int kMaxContinuations = 32;           // CE areas followed per record
inline constexpr uint64_t kMaxContinuationBytes = 64 * 1024;
inline constexpr size_t kMinRecordSize = 34;            // 33-byte header + 1-byte name

// Volume descriptor types (ECMA-119 8.1.1).
inline constexpr uint8_t kVdBoot = 0, kVdPrimary = 1, kVdSupplementary = 2, kVdTerminator = 255;

// Directory record flags (ECMA-119 9.1.6).
inline constexpr uint8_t kFlagHidden = 0x01, kFlagDirectory = 0x02, kFlagAssociated = 0x04,
                         kFlagMultiExtent = 0x80;

// Fields recorded in both byte orders (7.2.3, 7.3.3): the little-endian half.
inline uint16_t both16(const uint8_t* p) { return load_le16(p); }
inline uint32_t both32(const uint8_t* p) { return load_le32(p); }

// A directory record (9.1) as found on disk; spans point into the caller's buffer.
struct Record {
  uint8_t length = 0;
  uint8_t ext_attr_length = 0;     // blocks of extended attribute record before the data
  uint32_t extent = 0;             // logical block number
  uint32_t data_length = 0;
  const uint8_t* date = nullptr;   // 7 bytes
  uint8_t flags = 0;
  uint8_t unit_size = 0;
  uint8_t gap_size = 0;
  std::span<const uint8_t> name;       // file identifier
  std::span<const uint8_t> system_use;  // after the identifier and its pad byte

  bool is_dir() const { return flags & kFlagDirectory; }
  bool is_dot() const { return name.size() == 1 && name[0] == 0; }
  bool is_dotdot() const { return name.size() == 1 && name[0] == 1; }
};

// Parses the record at the start of `buf` (buf may extend past it). nullopt
// when the length byte is zero or the record is malformed (too short, name
// or system use running past its length or past buf).
std::optional<Record> parse_record(std::span<const uint8_t> buf);

// A 7-byte recording date (9.1.5) as Unix time, the GMT offset applied as
// Linux does (only when within +-13 hours).
Timespec record_time(const uint8_t* d);
// A 17-byte volume date "YYYYMMDDHHMMSScc" + offset (8.4.26.1); nullopt when
// unset or not digits.
std::optional<Timespec> long_time(const uint8_t* d);

// Names (names.cc).
// Plain ISO 9660 names as Linux's map=normal: lowercase, ";1" and ".;1"
// dropped, other ';' and '/' turned into '.'.
std::string plain_name(std::span<const uint8_t> id);
// Joliet UCS-2 (UTF-16BE) names as UTF-8, ";1" and trailing dots dropped.
std::string joliet_name(std::span<const uint8_t> id);
// UTF-16BE to UTF-8; unpaired surrogates become U+FFFD. Stops at a NUL unit.
std::string utf16be_to_utf8(std::span<const uint8_t> s);

// Rock Ridge (rock.cc): what the System Use entries of one record say.
struct Rock {
  bool sp = false;          // SUSP indicator (root "." only)
  uint8_t skip = 0;         // SP's LEN_SKP
  bool er = false;          // extension reference seen
  bool rrip = false;        // any RRIP entry (PX, NM, SL, TF, PN, CL, RE)
  std::optional<uint32_t> mode, nlink, uid, gid;
  uint64_t ino = 0;         // PX serial number (RRIP 1.12), 0 when absent
  std::optional<uint64_t> rdev;  // PN, Linux encoding
  std::optional<std::string> name;  // NM
  bool name_truncated = false;
  std::optional<std::string> link;  // SL, assembled
  bool link_too_long = false;
  std::optional<Timespec> crtime, mtime, atime, ctime;
  std::optional<uint32_t> child_link;  // CL: the relocated directory's block
  bool relocated = false;   // RE: this record is the relocated directory itself
  bool zisofs = false;      // ZF: compressed (not supported)
};

}  // namespace dk::fs::iso
