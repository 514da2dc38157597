#include <zlib.h>

#include <gtest/gtest.h>

#include "fs/disk.h"
#include "fs/part/part.h"
#include "tests/fs/test_disk.h"

namespace dk::fs {
namespace {

using testing::TestDisk;

TEST(Mbr, PrimaryAndLogicalNumberedLikeLinux) {
  TestDisk d(64 << 20);
  d.mbr_entry(0, 0, 0x83, 2048, 2048, true);
  d.mbr_entry(0, 1, 0x05, 8192, 40960);
  // EBR chain: logical at 8192+2048, next EBR at +16384, logical there.
  d.mbr_entry(8192, 0, 0x83, 2048, 4096);
  d.mbr_entry(8192, 1, 0x05, 16384, 8192);
  d.mbr_entry(8192 + 16384, 0, 0x82, 2048, 2048);
  auto l = d.open();
  ASSERT_TRUE(l);
  auto t = read_partition_table(*l);
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->kind, TableKind::Mbr);
  ASSERT_EQ(t->partitions.size(), 4u);
  EXPECT_EQ(t->partitions[0].number, 1);
  EXPECT_TRUE(t->partitions[0].bootable);
  EXPECT_EQ(t->partitions[1].number, 2);
  EXPECT_TRUE(t->partitions[1].extended);
  EXPECT_EQ(t->partitions[2].number, 5);
  EXPECT_EQ(t->partitions[2].offset, (8192u + 2048u) * 512);
  EXPECT_EQ(t->partitions[2].size, 4096u * 512);
  EXPECT_EQ(t->partitions[3].number, 6);
  EXPECT_EQ(t->partitions[3].offset, (8192u + 16384u + 2048u) * 512);
  EXPECT_EQ(t->partitions[3].mbr_type, 0x82);
  EXPECT_TRUE(t->warnings.empty());
}

TEST(Mbr, EbrLoopStops) {
  TestDisk d(16 << 20);
  d.mbr_entry(0, 0, 0x05, 2048, 20000);
  d.mbr_entry(2048, 0, 0x83, 64, 64);
  d.mbr_entry(2048, 1, 0x05, 4096, 64);
  d.mbr_entry(2048 + 4096, 0, 0x83, 64, 64);
  d.mbr_entry(2048 + 4096, 1, 0x05, 4096, 64);  // back to itself: a loop
  auto l = d.open();
  auto t = read_partition_table(*l);
  ASSERT_TRUE(t);
  ASSERT_EQ(t->partitions.size(), 3u);  // extended + 2 logicals, once each
  ASSERT_EQ(t->warnings.size(), 1u);
  EXPECT_NE(t->warnings[0].find("loop"), std::string::npos);
}

TEST(Mbr, OutOfDiskPartitionsDroppedOrClipped) {
  TestDisk d(1 << 20);  // 2048 sectors
  d.mbr_entry(0, 0, 0x83, 1024, 4096);        // clipped to 1024 sectors
  d.mbr_entry(0, 1, 0x83, 0xfffffff0, 100);   // beyond the end: dropped
  auto l = d.open();
  auto t = read_partition_table(*l);
  ASSERT_TRUE(t);
  ASSERT_EQ(t->partitions.size(), 1u);
  EXPECT_EQ(t->partitions[0].size, 1024u * 512);
  EXPECT_EQ(t->warnings.size(), 2u);
}

TEST(Mbr, NoSignatureMeansNoTable) {
  TestDisk d(1 << 20);
  auto l = d.open();
  auto t = read_partition_table(*l);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->kind, TableKind::None);
}

// A GPT written by hand: header at `lba`, entries at `entries_lba`, in
// units of `ss`-byte sectors.
void put_gpt(TestDisk& d, uint64_t lba, uint64_t alt, uint64_t entries_lba, uint32_t n, uint64_t ss = 512) {
  uint8_t* ents = d.bytes.data() + entries_lba * ss;
  std::memset(ents, 0, n * 128);
  static const uint8_t kLinux[16] = {0xaf, 0x3d, 0xc6, 0x0f, 0x83, 0x84, 0x72, 0x47,
                                     0x8e, 0x79, 0x3d, 0x69, 0xd8, 0x47, 0x7d, 0xe4};
  std::memcpy(ents + 128 * 1, kLinux, 16);  // entry 2 only: partition number 2
  ents[128 + 16] = 0x11;
  store_le64(ents + 128 + 32, 100);
  store_le64(ents + 128 + 40, 199);
  store_le16(ents + 128 + 56, 'r');
  uint8_t* h = d.bytes.data() + lba * ss;
  std::memset(h, 0, ss);
  std::memcpy(h, "EFI PART", 8);
  store_le32(h + 8, 0x00010000);
  store_le32(h + 12, 92);
  store_le64(h + 24, lba);
  store_le64(h + 32, alt);
  store_le64(h + 40, 34);
  store_le64(h + 48, d.bytes.size() / ss - 34);
  store_le64(h + 72, entries_lba);
  store_le32(h + 80, n);
  store_le32(h + 84, 128);
  store_le32(h + 88, static_cast<uint32_t>(crc32(0, ents, n * 128)));
  store_le32(h + 16, static_cast<uint32_t>(crc32(0, h, 92)));
}

TestDisk gpt_disk() {
  TestDisk d(1 << 20);
  d.mbr_entry(0, 0, 0xee, 1, 2047);
  put_gpt(d, 1, 2047, 2, 128);
  put_gpt(d, 2047, 1, 2047 - 32, 128);
  return d;
}

TEST(Gpt, Parsed) {
  TestDisk d = gpt_disk();
  auto l = d.open();
  auto t = read_partition_table(*l);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->kind, TableKind::Gpt);
  ASSERT_EQ(t->partitions.size(), 1u);
  EXPECT_EQ(t->partitions[0].number, 2);
  EXPECT_EQ(t->partitions[0].offset, 100u * 512);
  EXPECT_EQ(t->partitions[0].size, 100u * 512);
  EXPECT_EQ(t->partitions[0].type_guid, "0FC63DAF-8483-4772-8E79-3D69D8477DE4");
  EXPECT_EQ(t->partitions[0].name, "r");
  EXPECT_TRUE(t->warnings.empty());
}

TEST(Gpt, DamagedPrimaryUsesBackup) {
  TestDisk d = gpt_disk();
  d.bytes[512 + 40] ^= 1;  // first_usable: the header CRC no longer matches
  auto l = d.open();
  auto t = read_partition_table(*l);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->kind, TableKind::Gpt);
  ASSERT_EQ(t->partitions.size(), 1u);
  ASSERT_EQ(t->warnings.size(), 1u);
  EXPECT_NE(t->warnings[0].find("backup"), std::string::npos);
}

TEST(Gpt, DamagedEntriesUseBackup) {
  TestDisk d = gpt_disk();
  d.bytes[2 * 512 + 128 + 33] ^= 1;
  auto l = d.open();
  auto t = read_partition_table(*l);
  ASSERT_TRUE(t);
  ASSERT_EQ(t->warnings.size(), 1u);
  EXPECT_NE(t->warnings[0].find("entry array CRC32"), std::string::npos);
  ASSERT_EQ(t->partitions.size(), 1u);
  EXPECT_EQ(t->partitions[0].offset, 100u * 512);
}

TEST(Gpt, AbsurdEntryCountRefused) {
  TestDisk d = gpt_disk();
  uint8_t* h = d.bytes.data() + 512;
  store_le32(h + 80, 0x7fffffff);
  store_le32(h + 16, 0);
  store_le32(h + 16, static_cast<uint32_t>(crc32(0, h, 92)));
  auto l = d.open();
  auto t = read_partition_table(*l);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->kind, TableKind::Gpt);  // from the backup
  ASSERT_EQ(t->warnings.size(), 1u);
}

// 4 KiB logical sectors (fdisk -b 4096, 4Kn disks): the header at byte
// 4096, entries and partitions counted in 4 KiB units.
TestDisk gpt4k_disk() {
  TestDisk d(4 << 20);  // 1024 sectors of 4 KiB
  d.mbr_entry(0, 0, 0xee, 1, 1023);
  put_gpt(d, 1, 1023, 2, 128, 4096);
  put_gpt(d, 1023, 1, 1023 - 4, 128, 4096);
  return d;
}

TEST(Gpt, FourKiBSectorsDetected) {
  TestDisk d = gpt4k_disk();
  auto l = d.open();
  auto t = read_partition_table(*l);
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->kind, TableKind::Gpt);
  EXPECT_EQ(t->sector_size, 4096u);
  ASSERT_EQ(t->partitions.size(), 1u);
  EXPECT_EQ(t->partitions[0].offset, 100u * 4096);
  EXPECT_EQ(t->partitions[0].size, 100u * 4096);
  EXPECT_TRUE(t->warnings.empty());
}

TEST(Gpt, FourKiBBackupOnly) {
  TestDisk d = gpt4k_disk();
  std::memset(d.bytes.data() + 4096, 0, 4096);  // primary header gone
  auto l = d.open();
  auto t = read_partition_table(*l);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->kind, TableKind::Gpt);
  EXPECT_EQ(t->sector_size, 4096u);
  ASSERT_EQ(t->partitions.size(), 1u);
  EXPECT_EQ(t->partitions[0].offset, 100u * 4096);
  ASSERT_EQ(t->warnings.size(), 1u);
}

TEST(Gpt, FiveTwelveStillPreferred) {
  TestDisk d = gpt_disk();
  auto l = d.open();
  auto t = read_partition_table(*l);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->sector_size, 512u);
  // Forcing 4096 on a 512-byte GPT finds no GPT there.
  auto f = read_partition_table(*l, 4096);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->kind, TableKind::None);
  EXPECT_FALSE(read_partition_table(*l, 1000));
}

TEST(Mbr, FourKiBUnitsWhenAsked) {
  TestDisk d(64 << 20);
  d.mbr_entry(0, 0, 0x83, 256, 1024);
  d.mbr_entry(0, 1, 0x05, 2048, 4096);
  d.mbr_entry(2048 * 8, 0, 0x83, 256, 512);  // EBR at 4 KiB sector 2048 (byte 8 MiB)
  auto l = d.open();
  auto t = read_partition_table(*l, 4096);
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->kind, TableKind::Mbr);
  ASSERT_EQ(t->partitions.size(), 3u);
  EXPECT_EQ(t->partitions[0].offset, 256u * 4096);
  EXPECT_EQ(t->partitions[0].size, 1024u * 4096);
  EXPECT_EQ(t->partitions[2].number, 5);
  EXPECT_EQ(t->partitions[2].offset, (2048u + 256u) * 4096);
  EXPECT_EQ(t->partitions[2].size, 512u * 4096);
  // Read as an image (512-byte sectors), the same table means other offsets.
  auto t512 = read_partition_table(*l);
  ASSERT_TRUE(t512);
  EXPECT_EQ(t512->partitions[0].offset, 256u * 512);
}

TEST(Disk, NamesLikeLinux) {
  EXPECT_EQ(disk_name(0), "/dev/sda");
  EXPECT_EQ(disk_name(25), "/dev/sdz");
  EXPECT_EQ(disk_name(26), "/dev/sdaa");
  EXPECT_EQ(disk_name(701), "/dev/sdzz");
  EXPECT_EQ(disk_name(702), "/dev/sdaaa");
}

TEST(Disk, FindAcceptsVdAndHd) {
  TestDisk d = gpt_disk();
  std::vector<std::unique_ptr<fmt::Layer>> layers;
  layers.push_back(d.open());
  auto g = Guest::from_layers(std::move(layers));
  ASSERT_TRUE(g);
  EXPECT_TRUE((*g)->find("/dev/sda2"));
  EXPECT_TRUE((*g)->find("/dev/vda2"));
  EXPECT_TRUE((*g)->find("/dev/hda"));
  EXPECT_FALSE((*g)->find("/dev/sda1"));
  EXPECT_FALSE((*g)->find("/dev/sdb"));
}

}  // namespace
}  // namespace dk::fs
