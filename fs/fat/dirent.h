// Directory entries: the 32-byte short entry, VFAT long-name slots (parsed
// as Linux's fat_parse_long does, checksum included), Linux vfat's
// short-name generation, and FAT's local-time timestamps (read as UTC).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "formats/core/error.h"
#include "fs/vfs.h"

namespace dk::fs::fat {

inline constexpr size_t kEntrySize = 32;
inline constexpr uint8_t kAttrReadOnly = 0x01, kAttrHidden = 0x02, kAttrSystem = 0x04, kAttrVolume = 0x08,
                         kAttrDir = 0x10, kAttrArchive = 0x20, kAttrLfn = 0x0f;
inline constexpr uint8_t kCaseLowerBase = 0x08, kCaseLowerExt = 0x10;  // NT case flags (byte 12)
inline constexpr uint8_t kDeleted = 0xe5;
inline constexpr size_t kMaxLfnUnits = 255;
inline constexpr size_t kMaxLfnSlots = 20;  // ceil(255 / 13)

using ShortName = std::array<uint8_t, 11>;

// One 32-byte short entry with the spec's field names.
struct RawEntry {
  std::array<uint8_t, 32> b{};

  uint8_t DIR_Attr() const { return b[11]; }
  uint8_t DIR_NTRes() const { return b[12]; }
  ShortName name() const;
  // First cluster; the high half only counts on FAT32 (as Linux reads it).
  uint32_t first_cluster(bool fat32) const;
  void set_first_cluster(uint32_t c);
  uint32_t DIR_FileSize() const;
  void set_size(uint32_t size);
  bool is_dir() const { return DIR_Attr() & kAttrDir; }
};

// A directory entry as a listing sees it.
struct Parsed {
  std::string name;       // UTF-8: the long name, else the short name with NT case flags
  uint32_t first_slot = 0;  // entry index of the first long-name slot (or the short entry)
  uint32_t short_slot = 0;  // entry index of the short entry
  RawEntry raw;
  bool dot = false;       // "." or ".."
};

// Parses a directory's bytes (a multiple of 32). Deleted, free (0x00) and
// volume-label entries are skipped like Linux does; orphan long-name slots
// and slots whose checksum does not match the short entry fall back to the
// short name. Names with '/' or NUL or empty are dropped.
std::vector<Parsed> parse_directory(std::span<const uint8_t> bytes);

// The volume label as blkid reads it: the root directory's volume-label
// entry, trailing spaces removed (empty when there is none).
std::string volume_label(std::span<const uint8_t> root_bytes);

uint8_t lfn_checksum(const ShortName& n);
// The short name as Linux displays it (base.ext, NT case flags applied, codepage 437 to UTF-8).
std::string short_display(const ShortName& n, uint8_t ntres);

// ---- Creating names ----

// Checks and converts a new name to UTF-16 the way vfat does: trailing dots
// dropped; EINVAL for forbidden characters or bad UTF-8, ENAMETOOLONG above
// 255 UTF-16 units.
Result<std::u16string> long_name_units(std::string_view name);
// The name as compared by lookups: trailing dots dropped, ASCII letters folded.
std::string fold_name(std::string_view name);

struct ShortChoice {
  ShortName name{};
  uint8_t ntres = 0;
  bool needs_lfn = true;
};
// Linux's vfat_create_shortname with NT-style case: a name that is a valid
// 8.3 name in one case per part gets case flags and no long name; others get
// a basis name with a ~N tail unique among `taken`. EEXIST when the 8.3 name
// exists already.
Result<ShortChoice> make_short_name(const std::u16string& units,
                                    const std::function<bool(const ShortName&)>& taken);

// The long-name slots (in on-disk order) for `units` with this short name's checksum.
std::vector<RawEntry> lfn_slots(const std::u16string& units, const ShortName& sn);

// ---- Times ----
// FAT date/time (2 s units) plus centiseconds, as UTC.
Timespec fat_to_unix(uint16_t time, uint16_t date, uint8_t cs = 0);
// Clamped to 1980-01-01 .. 2107-12-31 like Linux.
void unix_to_fat(const Timespec& t, uint16_t& time, uint16_t& date, uint8_t* cs);

}  // namespace dk::fs::fat
