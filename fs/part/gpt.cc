// GPT (UEFI spec 2.x, chapter 5): header and entry-array CRC32 checked; the
// backup header at the disk's last sector is used when the primary is bad.
#include <zlib.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include "formats/core/checked_math.h"
#include "formats/core/endian.h"
#include "fs/part/part_internal.h"

namespace dk::fs {

std::string guid_to_string(const uint8_t* g) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X", load_le32(g),
                load_le16(g + 4), load_le16(g + 6), g[8], g[9], g[10], g[11], g[12], g[13], g[14],
                g[15]);
  return buf;
}

namespace {

struct GptHeader {
  uint64_t my_lba = 0;
  uint64_t alternate_lba = 0;
  uint64_t first_usable = 0;
  uint64_t last_usable = 0;
  uint8_t disk_guid[16] = {};
  uint64_t entries_lba = 0;
  uint32_t num_entries = 0;
  uint32_t entry_size = 0;
  uint32_t entries_crc = 0;
};

uint32_t crc32_of(const uint8_t* p, size_t n) {
  return static_cast<uint32_t>(::crc32(::crc32(0L, Z_NULL, 0), p, static_cast<uInt>(n)));
}

std::string utf16le_name(const uint8_t* p, size_t units) {
  std::string out;
  for (size_t i = 0; i < units; ++i) {
    uint32_t c = load_le16(p + 2 * i);
    if (c == 0) break;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < units) {
      uint32_t lo = load_le16(p + 2 * i + 2);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
        ++i;
      }
    }
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (c < 0x800) {
      out += static_cast<char>(0xc0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
      out += static_cast<char>(0xe0 | (c >> 12));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (c & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (c >> 18));
      out += static_cast<char>(0x80 | ((c >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (c & 0x3f));
    }
  }
  return out;
}

// Reads and checks the header at `lba` and its entry array. Returns the
// reason it is invalid in `why` (empty when fine).
Result<bool> load_gpt(fmt::Layer& disk, uint64_t ss, uint64_t lba, GptHeader& h, std::vector<uint8_t>& entries,
                      std::string& why) {
  const uint64_t sectors = disk.size() / ss;
  if (lba == 0 || lba >= sectors) { why = "header sector is outside the disk"; return false; }
  std::vector<uint8_t> sector(ss);
  uint8_t* s = sector.data();
  DK_TRY(disk.read(lba * ss, std::as_writable_bytes(std::span(sector))));
  if (std::memcmp(s, "EFI PART", 8) != 0) { why = "no GPT signature"; return false; }
  uint32_t hsize = load_le32(s + 12);
  if (hsize < 92 || hsize > ss) { why = "bad header size"; return false; }
  uint32_t want = load_le32(s + 16);
  std::memset(s + 16, 0, 4);
  if (crc32_of(s, hsize) != want) { why = "header CRC32 mismatch"; return false; }
  h.my_lba = load_le64(s + 24);
  h.alternate_lba = load_le64(s + 32);
  h.first_usable = load_le64(s + 40);
  h.last_usable = load_le64(s + 48);
  std::memcpy(h.disk_guid, s + 56, 16);
  h.entries_lba = load_le64(s + 72);
  h.num_entries = load_le32(s + 80);
  h.entry_size = load_le32(s + 84);
  h.entries_crc = load_le32(s + 88);
  if (h.my_lba != lba) { why = "header names the wrong sector as its own"; return false; }
  if (h.entry_size < 128 || h.entry_size % 128 != 0 || h.num_entries > kMaxGptEntries) {
    why = "bad entry size or count"; return false;
  }
  uint64_t bytes = uint64_t{h.num_entries} * h.entry_size;
  if (bytes > kMaxGptArrayBytes) { why = "entry array is too large"; return false; }
  auto end = checked_add(checked_mul(h.entries_lba, ss).value_or(UINT64_MAX), bytes);
  if (h.entries_lba == 0 || !end || *end > disk.size()) { why = "entry array is outside the disk"; return false; }
  entries.resize(bytes);
  DK_TRY(disk.read(h.entries_lba * ss, std::as_writable_bytes(std::span(entries))));
  if (crc32_of(entries.data(), entries.size()) != h.entries_crc) {
    why = "entry array CRC32 mismatch"; return false;
  }
  return true;
}

void fill_partitions(fmt::Layer& disk, uint64_t ss, const GptHeader& h, const std::vector<uint8_t>& entries,
                     PartitionTable& t) {
  static const uint8_t kZero[16] = {};
  const uint64_t sectors = disk.size() / ss;
  for (uint32_t i = 0; i < h.num_entries; ++i) {
    const uint8_t* e = entries.data() + uint64_t{i} * h.entry_size;
    if (std::memcmp(e, kZero, 16) == 0) continue;
    uint64_t first = load_le64(e + 32), last = load_le64(e + 40);
    if (first > last || first >= sectors) {
      t.warnings.push_back("'" + disk.filename() + "': GPT entry " + std::to_string(i + 1) +
                           " lies outside the disk; ignored");
      continue;
    }
    if (last >= sectors) last = sectors - 1;
    Partition p;
    p.number = static_cast<int>(i + 1);
    p.offset = first * ss;
    p.size = (last - first + 1) * ss;
    p.type_guid = guid_to_string(e);
    p.part_guid = guid_to_string(e + 16);
    p.attributes = load_le64(e + 48);
    p.name = utf16le_name(e + 56, 36);
    p.part_uuid = p.part_guid;
    for (char& c : p.part_uuid) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    t.partitions.push_back(std::move(p));
  }
}

}  // namespace

Result<bool> read_gpt(fmt::Layer& disk, PartitionTable& t, uint64_t ss) {
  const uint64_t sectors = disk.size() / ss;
  if (sectors < 3) return false;
  GptHeader h;
  std::vector<uint8_t> entries;
  std::string why_primary, why_backup;
  bool ok = DK_TRY(load_gpt(disk, ss, 1, h, entries, why_primary));
  if (!ok) {
    // The backup lives at the last sector (the primary's alternate_lba is not trusted: it is damaged).
    ok = DK_TRY(load_gpt(disk, ss, sectors - 1, h, entries, why_backup));
    if (!ok) return false;
    t.warnings.push_back("'" + disk.filename() + "': the primary GPT is damaged (" + why_primary +
                         "); using the backup GPT");
  }
  t.kind = TableKind::Gpt;
  t.disk_guid = guid_to_string(h.disk_guid);
  t.sector_size = ss;
  fill_partitions(disk, ss, h, entries, t);
  return true;
}

}  // namespace dk::fs
