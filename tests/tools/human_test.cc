#include <gtest/gtest.h>

#include "tools/human.h"

namespace dk::tools {
namespace {

TEST(Human, SizeToStr) {
  EXPECT_EQ(size_to_str(0), "0 B");
  EXPECT_EQ(size_to_str(512), "512 B");
  EXPECT_EQ(size_to_str(1000), "0.977 KiB");
  EXPECT_EQ(size_to_str(1024), "1 KiB");
  EXPECT_EQ(size_to_str(4096), "4 KiB");
  EXPECT_EQ(size_to_str(200704), "196 KiB");
  EXPECT_EQ(size_to_str(1351680), "1.29 MiB");
  EXPECT_EQ(size_to_str(1073741824), "1 GiB");
  EXPECT_EQ(size_to_str(3ull << 29), "1.5 GiB");
  EXPECT_EQ(size_to_str(UINT64_MAX), "16 EiB");
}

TEST(Human, SnapshotRow) {
  EXPECT_EQ(snapshot_table_header(),
            "ID        TAG               VM SIZE                DATE     VM CLOCK     ICOUNT");
  fmt::SnapshotInfo sn;
  sn.id = "1";
  sn.name = "snap1";
  sn.date_sec = 0;
  sn.vm_clock_nsec = 3723004000000ull;  // 1:02:03.004
  sn.icount = 0;
  setenv("TZ", "UTC", 1);
  tzset();
  EXPECT_EQ(snapshot_table_row(sn),
            "1         snap1                 0 B 1970-01-01 00:00:00 01:02:03.004          0");
  sn.icount.reset();
  EXPECT_EQ(snapshot_table_row(sn).size(), 79u);
}

TEST(Human, FormattingLineQcow2) {
  auto order = *qemu_create_print_order("qcow2");
  std::map<std::string, std::string> given = {{"size", "1G"}, {"backing_file", "a,b"},
                                              {"backing_fmt", "raw"}, {"cluster_size", "4k"}};
  EXPECT_EQ(*formatting_line("o.qcow2", "qcow2", order, given),
            "Formatting 'o.qcow2', fmt=qcow2 cluster_size=4096 extended_l2=off "
            "compression_type=zlib size=1073741824 backing_file=a,,b backing_fmt=raw "
            "lazy_refcounts=off refcount_bits=16");
  auto raw = *qemu_create_print_order("raw");
  EXPECT_EQ(*formatting_line("r", "raw", raw, {{"size", "1048576"}, {"nocow", "on"},
                                              {"preallocation", "falloc"}}),
            "Formatting 'r', fmt=raw size=1048576 nocow=on preallocation=falloc");
  EXPECT_TRUE(is_qemu_protocol_option("raw", "preallocation"));
  EXPECT_FALSE(is_qemu_protocol_option("qcow2", "preallocation"));
  EXPECT_FALSE(parse_number_option("refcount_bits", "abc", OptKind::Num));
  EXPECT_EQ(*parse_number_option("refcount_bits", "0x10", OptKind::Num), 16u);
}

fmt::MapEntry entry(uint64_t start, uint64_t len, bool data, bool zero,
                    std::optional<uint64_t> off, int depth = 0) {
  fmt::MapEntry e;
  e.start = start;
  e.length = len;
  e.data = data;
  e.zero = zero;
  e.present = data || zero;
  e.offset = off;
  e.depth = depth;
  if (off) e.file = "f";
  return e;
}

TEST(Human, MapMerge) {
  EXPECT_TRUE(map_entries_mergeable(entry(0, 4096, true, false, 0), entry(4096, 4096, true, false, 4096)));
  EXPECT_FALSE(map_entries_mergeable(entry(0, 4096, true, false, 0), entry(4096, 4096, true, false, 8192)));
  EXPECT_FALSE(map_entries_mergeable(entry(0, 0, true, false, 0), entry(0, 4096, true, false, 0)));
  EXPECT_FALSE(map_entries_mergeable(entry(0, 4096, true, false, 0, 0), entry(4096, 4096, true, false, 4096, 1)));
  EXPECT_TRUE(map_entries_mergeable(entry(0, 4096, false, true, {}), entry(4096, 4096, false, true, {})));
}

TEST(Human, MapDump) {
  std::string out;
  auto a = entry(0, 65536, true, false, 327680);
  auto b = entry(65536, 2031616, false, true, {}, 1);
  b.present = false;
  ASSERT_TRUE(map_dump_entry(true, a, &b, out));
  ASSERT_TRUE(map_dump_entry(true, b, nullptr, out));
  EXPECT_EQ(out,
            "{ \"start\": 0, \"length\": 65536, \"depth\": 0, \"present\": true, \"zero\": false, "
            "\"data\": true, \"offset\": 327680},\n"
            "{ \"start\": 65536, \"length\": 2031616, \"depth\": 1, \"present\": false, "
            "\"zero\": true, \"data\": false}");
  out = map_header(false);
  auto z = entry(65536, 4096, true, true, 4096);
  ASSERT_TRUE(map_dump_entry(false, a, &z, out));
  EXPECT_EQ(out,
            "Offset          Length          Mapped to       File\n"
            "0               0x10000         0x50000         f\n");
  // Human output folds zero+data into plain zero so gaps coalesce.
  EXPECT_FALSE(z.data);
  EXPECT_TRUE(z.zero);
  auto compressed = entry(0, 65536, true, false, {});
  EXPECT_FALSE(map_dump_entry(false, compressed, nullptr, out));
}

}  // namespace
}  // namespace dk::tools
