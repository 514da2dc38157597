// Superblock signatures, offsets and blkid's naming rules for each type.
#include "fs/probe.h"

#include <cstdio>
#include <cstring>
#include <vector>

#include "formats/core/endian.h"
#include "fs/iso9660/iso9660.h"

namespace dk::fs {
namespace {

constexpr size_t kHead = 72 * 1024;  // covers btrfs (64 KiB + 4 KiB) and ISO 9660's PVD

struct Buf {
  const std::vector<uint8_t>& b;
  bool has(size_t off, size_t len) const { return off <= b.size() && len <= b.size() - off; }
  const uint8_t* at(size_t off) const { return b.data() + off; }
  bool eq(size_t off, const char* s) const {
    size_t n = std::strlen(s);
    return has(off, n) && std::memcmp(at(off), s, n) == 0;
  }
};

std::string hex_uuid(const uint8_t* u, bool upper = false) {
  char buf[40];
  std::snprintf(buf, sizeof buf,
                upper ? "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-%02X%02X%02X%02X%02X%02X"
                      : "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
                u[13], u[14], u[15]);
  return buf;
}

// A fixed-size on-disk string: up to the first NUL, trailing spaces removed,
// control bytes dropped (labels are hostile and end up on a terminal).
std::string fixed_string(const uint8_t* p, size_t n, bool trim_spaces = true) {
  std::string s;
  for (size_t i = 0; i < n && p[i]; ++i)
    if (p[i] >= 0x20 && p[i] != 0x7f) s += static_cast<char>(p[i]);
  if (trim_spaces)
    while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

bool probe_ext(const Buf& b, ProbeResult& r) {
  const size_t sb = 1024;
  if (!b.has(sb, 1024) || load_le16(b.at(sb + 0x38)) != 0xef53) return false;
  uint32_t compat = load_le32(b.at(sb + 0x5c));
  uint32_t incompat = load_le32(b.at(sb + 0x60));
  uint32_t ro_compat = load_le32(b.at(sb + 0x64));
  uint32_t log_bs = load_le32(b.at(sb + 0x18));
  if (log_bs > 6) return false;  // block size above 64 KiB: not a real ext superblock
  if (incompat & 0x0008) {
    r.type = "jbd";  // external journal device
  } else if (!(compat & 0x0004) && !(incompat & ~0x12u) && !(ro_compat & ~0x7u)) {
    r.type = "ext2";
  } else if ((compat & 0x0004) && !(incompat & ~0x16u) && !(ro_compat & ~0x7u)) {
    r.type = "ext3";
  } else {
    r.type = "ext4";
  }
  r.uuid = hex_uuid(b.at(sb + 0x68));
  r.label = fixed_string(b.at(sb + 0x78), 16, false);
  uint64_t blocks = load_le32(b.at(sb + 0x04));
  if (incompat & 0x80) blocks |= uint64_t{load_le32(b.at(sb + 0x150))} << 32;
  r.size = blocks << (10 + log_bs);
  r.version = "1.0";
  return true;
}

bool probe_xfs(const Buf& b, ProbeResult& r) {
  if (!b.eq(0, "XFSB") || !b.has(0, 512)) return false;
  r.type = "xfs";
  r.uuid = hex_uuid(b.at(32));
  r.label = fixed_string(b.at(108), 12);
  r.size = load_be64(b.at(8)) * load_be32(b.at(4));
  return true;
}

bool probe_btrfs(const Buf& b, ProbeResult& r) {
  const size_t sb = 0x10000;
  if (!b.eq(sb + 0x40, "_BHRfS_M") || !b.has(sb, 0x300)) return false;
  r.type = "btrfs";
  r.uuid = hex_uuid(b.at(sb + 0x20));
  r.label = fixed_string(b.at(sb + 0x12b), 256, false);
  r.size = load_le64(b.at(sb + 0x70));
  return true;
}

// blkid's rules (the Joliet label merged with the primary one, UUID from
// the modification or creation date) live with the ISO 9660 driver.
bool probe_iso9660(const Buf& b, ProbeResult& r) { return identify_iso9660(b.b, r); }

bool probe_swap(const Buf& b, ProbeResult& r) {
  for (size_t page : {4096u, 8192u, 16384u, 65536u}) {
    if (!b.has(page - 10, 10)) continue;
    if (b.eq(page - 10, "SWAPSPACE2") || b.eq(page - 10, "SWAP-SPACE")) {
      r.type = "swap";
      if (b.eq(page - 10, "SWAPSPACE2")) {
        r.uuid = hex_uuid(b.at(1024 + 12));
        r.label = fixed_string(b.at(1024 + 28), 16, false);
        r.size = (uint64_t{load_le32(b.at(1024 + 4))} + 1) * page;
      }
      return true;
    }
  }
  return false;
}

bool probe_lvm(const Buf& b, ProbeResult& r) {
  for (size_t s = 0; s < 4; ++s) {
    size_t off = s * 512;
    if (!b.eq(off, "LABELONE") || !b.eq(off + 24, "LVM2 001")) continue;
    uint32_t pvh = load_le32(b.at(off + 20));
    if (pvh > 512 - 40 || !b.has(off + pvh, 40)) return false;
    const uint8_t* u = b.at(off + pvh);
    // LVM prints its 32-character id in groups of 6-4-4-4-4-4-6.
    std::string id = fixed_string(u, 32, false);
    if (id.size() == 32) {
      static const int kGroups[] = {6, 4, 4, 4, 4, 4, 6};
      size_t p = 0;
      for (int g : kGroups) {
        if (p) r.uuid += '-';
        r.uuid += id.substr(p, g);
        p += g;
      }
    }
    r.type = "LVM2_member";
    r.version = "LVM2 001";
    r.size = load_le64(u + 32);
    return true;
  }
  return false;
}

bool probe_luks(const Buf& b, ProbeResult& r) {
  static const uint8_t kMagic[6] = {'L', 'U', 'K', 'S', 0xba, 0xbe};
  if (!b.has(0, 512) || std::memcmp(b.at(0), kMagic, 6) != 0) return false;
  r.type = "crypto_LUKS";
  uint16_t version = load_be16(b.at(6));
  r.version = std::to_string(version);
  r.uuid = fixed_string(b.at(168), 40, false);
  if (version == 2) r.label = fixed_string(b.at(24), 48, false);
  return true;
}

bool md_v1_at(const Buf& b, size_t off, ProbeResult& r) {
  if (!b.has(off, 256) || load_le32(b.at(off)) != 0xa92b4efc || load_le32(b.at(off + 4)) != 1)
    return false;
  r.type = "linux_raid_member";
  r.uuid = hex_uuid(b.at(off + 16));
  r.label = fixed_string(b.at(off + 32), 32, false);
  r.version = "1.x";
  return true;
}

bool probe_ntfs_exfat(const Buf& b, ProbeResult& r) {
  if (!b.has(0, 512)) return false;
  if (b.eq(3, "NTFS    ")) {
    r.type = "ntfs";
    char buf[24];
    std::snprintf(buf, sizeof buf, "%016llX", static_cast<unsigned long long>(load_le64(b.at(0x48))));
    r.uuid = buf;
    r.size = load_le64(b.at(0x28)) * load_le16(b.at(11));
    return true;
  }
  if (b.eq(3, "EXFAT   ")) {
    r.type = "exfat";
    uint32_t serial = load_le32(b.at(100));
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04X-%04X", serial >> 16, serial & 0xffff);
    r.uuid = buf;
    uint8_t shift = b.at(108)[0];
    if (shift >= 9 && shift <= 12) r.size = load_le64(b.at(72)) << shift;
    return true;
  }
  return false;
}

bool probe_vfat(const Buf& b, ProbeResult& r) {
  if (!b.has(0, 512) || b.at(510)[0] != 0x55 || b.at(511)[0] != 0xaa) return false;
  const uint8_t* s = b.at(0);
  if (s[0] != 0xeb && s[0] != 0xe9) return false;
  uint16_t bps = load_le16(s + 11);
  uint8_t spc = s[13];
  uint16_t reserved = load_le16(s + 14);
  uint8_t fats = s[16];
  if (bps < 512 || bps > 4096 || (bps & (bps - 1)) || !spc || (spc & (spc - 1)) || !reserved ||
      !fats || fats > 4)
    return false;
  uint16_t root_entries = load_le16(s + 17);
  uint64_t total = load_le16(s + 19);
  if (!total) total = load_le32(s + 32);
  uint64_t fat_size = load_le16(s + 22);
  bool fat32 = fat_size == 0;
  if (fat32) fat_size = load_le32(s + 36);
  if (!total || !fat_size) return false;
  uint64_t root_sectors = (uint64_t{root_entries} * 32 + bps - 1) / bps;
  uint64_t meta = reserved + fats * fat_size + root_sectors;
  if (meta >= total) return false;
  uint64_t clusters = (total - meta) / spc;
  r.type = "vfat";
  r.version = fat32 ? "FAT32" : clusters < 4085 ? "FAT12" : "FAT16";
  size_t ext = fat32 ? 64 : 36;  // extended BPB: drive number, reserved, signature, serial, label
  if (s[ext + 2] == 0x29 || s[ext + 2] == 0x28) {
    uint32_t serial = load_le32(s + ext + 3);
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04X-%04X", serial >> 16, serial & 0xffff);
    r.uuid = buf;
    if (s[ext + 2] == 0x29) {
      r.label = fixed_string(s + ext + 7, 11);
      if (r.label == "NO NAME") r.label.clear();
    }
  }
  r.size = total * bps;
  return true;
}

}  // namespace

Result<ProbeResult> probe_filesystem(fmt::Layer& dev) {
  std::vector<uint8_t> head(std::min<uint64_t>(dev.size(), kHead));
  DK_TRY(dev.read(0, std::as_writable_bytes(std::span(head))));
  Buf b{head};
  ProbeResult r;
  // Most specific first: containers (LUKS, LVM, md) before file systems
  // whose signatures could be left over inside them.
  if (probe_luks(b, r) || probe_lvm(b, r) || md_v1_at(b, 0, r) || md_v1_at(b, 4096, r) ||
      probe_xfs(b, r) || probe_btrfs(b, r) || probe_ext(b, r) || probe_iso9660(b, r) ||
      probe_swap(b, r) || probe_ntfs_exfat(b, r) || probe_vfat(b, r))
    return r;
  // md 1.0 (8 KiB before the end, 4 KiB aligned) and 0.90 (64 KiB aligned, last 64 KiB).
  uint64_t size = dev.size();
  if (size >= 128 * 1024) {
    std::vector<uint8_t> tail(4096);
    uint64_t v10 = ((size - 8192) & ~uint64_t{4095});
    DK_TRY(dev.read(v10, std::as_writable_bytes(std::span(tail))));
    if (md_v1_at(Buf{tail}, 0, r)) return r;
    uint64_t v090 = (size & ~uint64_t{65535}) - 65536;
    DK_TRY(dev.read(v090, std::as_writable_bytes(std::span(tail))));
    if (load_le32(tail.data()) == 0xa92b4efc) {
      r.type = "linux_raid_member";
      r.version = "0.90.0";
      uint8_t u[16];
      std::memcpy(u, tail.data() + 5 * 4, 4);       // set_uuid0
      std::memcpy(u + 4, tail.data() + 13 * 4, 12);  // set_uuid1..3
      r.uuid = hex_uuid(u);
      return r;
    }
  }
  return r;
}

}  // namespace dk::fs
