// vmdk driver tests: descriptor parsing, hostile descriptors and tables,
// writing every subformat through the Layer and checking the result with
// qemu-img, the stream write-once rule and growing monolithicSparse.
#include <fcntl.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "formats/chain.h"
#include "formats/core/file.h"
#include "formats/driver.h"
#include "formats/vmdk/descriptor.h"
#include "tests/formats/raw/test_support.h"

namespace dk::fmt {
namespace {

using testing::TempDir;
using testing::have_program;
using testing::run;

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::unique_ptr<Layer> open_ok(const std::string& path, bool writable = false) {
  OpenOptions o;
  o.writable = writable;
  auto l = find_driver("vmdk")->open(path, o);
  EXPECT_TRUE(l) << (l ? "" : l.error().message);
  return l ? std::move(*l) : nullptr;
}

std::vector<std::byte> pattern(size_t n, int seed) {
  std::vector<std::byte> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = std::byte(static_cast<uint8_t>(i * 7 + seed));
  return v;
}

TEST(VmdkDescriptor, ParsesQemuDescriptor) {
  const std::string text =
      "# Disk DescriptorFile\nversion=1\nCID=28110243\nparentCID=ffffffff\n"
      "createType=\"twoGbMaxExtentSparse\"\nparentFileNameHint=\"base.vmdk\"\n\n"
      "# Extent description\nRW 4194304 SPARSE \"a-s001.vmdk\"\nRDONLY 2048 FLAT \"a-f.vmdk\" 7\n\n"
      "#DDB\nddb.adapterType = \"lsilogic\"\nddb.virtualHWVersion = \"4\"\n";
  auto d = vmdk::parse_descriptor(text, "x");
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->cid, 0x28110243u);
  EXPECT_EQ(d->parent_cid, 0xffffffffu);
  EXPECT_EQ(d->create_type, "twoGbMaxExtentSparse");
  EXPECT_EQ(d->parent_hint, "base.vmdk");
  ASSERT_EQ(d->extents.size(), 2u);
  EXPECT_EQ(d->extents[0].sectors, 4194304u);
  EXPECT_EQ(d->extents[1].access, "RDONLY");
  EXPECT_EQ(d->extents[1].offset, 7u);
  EXPECT_EQ(d->ddb_value("ddb.adapterType"), "lsilogic");
}

TEST(VmdkDescriptor, RejectsBadExtentLines) {
  for (const char* line : {"RW -5 FLAT \"a\" 0", "RW 10 FLAT \"a", "RW x SPARSE \"a\"", "RW 0 SPARSE \"a\""}) {
    std::string text = std::string("# Disk DescriptorFile\nCID=1\ncreateType=\"monolithicFlat\"\n") + line + "\n";
    EXPECT_FALSE(vmdk::parse_descriptor(text, "x")) << line;
  }
}

TEST(VmdkDescriptor, FormatMatchesQemuTemplate) {
  vmdk::DescriptorParams p;
  p.cid = 0x339e003c;
  p.create_type = "monolithicFlat";
  p.extents.push_back({"RW", 6291456, "FLAT", "m-flat.vmdk", 0});
  p.cylinders = 6241;
  EXPECT_EQ(vmdk::format_descriptor(p),
            "# Disk DescriptorFile\nversion=1\nCID=339e003c\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\n"
            "\n# Extent description\nRW 6291456 FLAT \"m-flat.vmdk\" 0\n\n# The Disk Data Base\n#DDB\n\n"
            "ddb.virtualHWVersion = \"4\"\nddb.geometry.cylinders = \"6241\"\nddb.geometry.heads = \"16\"\n"
            "ddb.geometry.sectors = \"63\"\nddb.adapterType = \"ide\"\nddb.toolsVersion = \"2147483647\"\n");
}

TEST(VmdkOpen, RefusesUnsafeExtentPaths) {
  TempDir t;
  write_text(t.path("flat.bin"), std::string(4096, 'x'));
  const std::string head = "# Disk DescriptorFile\nCID=1\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\n";
  write_text(t.path("abs.vmdk"), head + "RW 8 FLAT \"" + t.path("flat.bin") + "\" 0\n");
  write_text(t.path("up.vmdk"), head + "RW 8 FLAT \"sub/../../flat.bin\" 0\n");
  for (const char* n : {"abs.vmdk", "up.vmdk"}) {
    OpenOptions o;
    auto l = find_driver("vmdk")->open(t.path(n), o);
    ASSERT_FALSE(l) << n;
    EXPECT_NE(l.error().message.find("flat.bin"), std::string::npos) << l.error().message;
    o.extra["allow-unsafe-extent-paths"] = "on";
    EXPECT_TRUE(find_driver("vmdk")->open(t.path("abs.vmdk"), o));
  }
}

TEST(VmdkOpen, HostileDescriptorsFailCleanly) {
  TempDir t;
  const std::string head = "# Disk DescriptorFile\nCID=1\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\n";
  write_text(t.path("f.bin"), "x");
  write_text(t.path("missing.vmdk"), head + "RW 8 FLAT \"nothere.bin\" 0\n");
  write_text(t.path("huge.vmdk"), head + "RW 99999999999999999 FLAT \"f.bin\" 0\n");
  write_text(t.path("many.vmdk"), head + "RW 9000000000000000 FLAT \"f.bin\" 0\nRW 9000000000000000 FLAT \"f.bin\" 0\nRW 9000000000000000 FLAT \"f.bin\" 0\n");
  write_text(t.path("type.vmdk"), head + "RW 8 WEIRD \"f.bin\"\n");
  write_text(t.path("none.vmdk"), head);
  for (const char* n : {"missing.vmdk", "huge.vmdk", "many.vmdk", "type.vmdk", "none.vmdk"}) {
    auto l = find_driver("vmdk")->open(t.path(n), OpenOptions{});
    EXPECT_FALSE(l) << n;
  }
}

TEST(VmdkOpen, TablesBeyondEndOfFile) {
  TempDir t;
  const std::string img = t.path("s.vmdk");
  ASSERT_TRUE(find_driver("vmdk")->create(img, CreateSpec{10 << 20, {}, {}, {}}));
  {
    // Point GD entry 0 far beyond the end of the file (gdOffset is sector 26).
    File f = *File::open(img, O_RDWR);
    std::array<std::byte, 4> e{std::byte{0xff}, std::byte{0xff}, std::byte{0xff}, std::byte{0x0f}};
    auto l = open_ok(img);
    ASSERT_TRUE(l);
    ASSERT_TRUE(f.pwrite_all(26 * 512, e));
  }
  auto l = open_ok(img);
  ASSERT_TRUE(l);
  std::vector<std::byte> buf(4096);
  auto r = l->read(0, buf);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("beyond the end of the file"), std::string::npos) << r.error().message;
}

class VmdkSubformat : public ::testing::TestWithParam<const char*> {};

// Writes through the Layer, then checks qemu-img sees the same bytes.
TEST_P(VmdkSubformat, WritesReadBackAndQemuAgrees) {
  if (!have_program("qemu-img")) GTEST_SKIP() << "qemu-img not installed";
  TempDir t;
  const std::string img = t.path("d.vmdk"), raw = t.path("r.raw");
  const uint64_t size = 3ull << 30;
  CreateSpec spec{size, {{"subformat", GetParam()}}, {}, {}};
  ASSERT_TRUE(find_driver("vmdk")->create(img, spec));
  const std::vector<std::pair<uint64_t, size_t>> writes = {{123456, 70000}, {1 << 20, 65536}, {(2ull << 30) - 33000, 100000}};
  {
    auto l = open_ok(img, true);
    ASSERT_TRUE(l);
    for (auto [off, len] : writes) ASSERT_TRUE(l->write(off, pattern(len, static_cast<int>(off))));
    ASSERT_TRUE(l->flush());
    std::vector<std::byte> back(70000);
    ASSERT_TRUE(l->read(123456, back));
    EXPECT_EQ(back, pattern(70000, 123456));
  }
  {
    File f = *File::open(raw, O_RDWR | O_CREAT);
    ASSERT_TRUE(f.truncate(size));
    for (auto [off, len] : writes) ASSERT_TRUE(f.pwrite_all(off, pattern(len, static_cast<int>(off))));
  }
  int st = -1;
  std::string out = run("qemu-img compare -q -f raw -F vmdk '" + raw + "' '" + img + "' 2>&1", &st);
  EXPECT_EQ(st, 0) << out;
  if (std::string(GetParam()).find("Sparse") != std::string::npos) {
    out = run("qemu-img check -q '" + img + "' 2>&1", &st);
    EXPECT_EQ(st, 0) << out;
  }
}

INSTANTIATE_TEST_SUITE_P(All, VmdkSubformat,
                         ::testing::Values("monolithicSparse", "monolithicFlat", "twoGbMaxExtentSparse",
                                           "twoGbMaxExtentFlat", "streamOptimized"));

TEST(VmdkStream, GrainsAreWrittenOnce) {
  TempDir t;
  const std::string img = t.path("s.vmdk");
  ASSERT_TRUE(find_driver("vmdk")->create(img, CreateSpec{1 << 20, {{"subformat", "streamOptimized"}}, {}, {}}));
  auto l = open_ok(img, true);
  ASSERT_TRUE(l);
  ASSERT_TRUE(l->write(0, pattern(65536, 1)));
  ASSERT_TRUE(l->write(65536, pattern(100, 2)));
  ASSERT_TRUE(l->write(65636, pattern(100, 3)));  // same pending grain: merged
  ASSERT_TRUE(l->write(200000, pattern(100, 4)));
  EXPECT_FALSE(l->write(0, pattern(512, 5)));      // already in the file
  ASSERT_TRUE(l->flush());
  std::vector<std::byte> b(100);
  ASSERT_TRUE(l->read(65636, b));
  EXPECT_EQ(b, pattern(100, 3));
  auto st = l->block_status(0, 1 << 20);
  ASSERT_TRUE(st);
  EXPECT_TRUE(st->data());
  EXPECT_FALSE(st->offset_valid());
}

TEST(VmdkSparse, GrowsMonolithicSparse) {
  TempDir t;
  const std::string img = t.path("g.vmdk");
  ASSERT_TRUE(find_driver("vmdk")->create(img, CreateSpec{100 << 20, {}, {}, {}}));
  {
    auto l = open_ok(img, true);
    ASSERT_TRUE(l);
    ASSERT_TRUE(l->truncate(1ull << 30, false));
    ASSERT_TRUE(l->write((1ull << 30) - 4096, pattern(4096, 9)));
  }
  auto l = open_ok(img);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->size(), 1ull << 30);
  std::vector<std::byte> b(4096);
  ASSERT_TRUE(l->read((1ull << 30) - 4096, b));
  EXPECT_EQ(b, pattern(4096, 9));
  if (have_program("qemu-img")) {
    int st = -1;
    std::string out = run("qemu-img check -q '" + img + "' 2>&1", &st);
    EXPECT_EQ(st, 0) << out;
    out = run("qemu-img info '" + img + "' 2>&1");
    EXPECT_NE(out.find("1073741824 bytes"), std::string::npos) << out;
  }
}

TEST(VmdkCreate, QemuOptionChecks) {
  TempDir t;
  auto create = [&](std::map<std::string, std::string> o, std::string bf = "", std::string bfmt = "") {
    return find_driver("vmdk")->create(t.path("c.vmdk"), CreateSpec{1 << 20, std::move(o), bf, bfmt});
  };
  EXPECT_EQ(create({{"compat6", "on"}, {"hwversion", "7"}}).error().message,
            "compat6 cannot be enabled with hwversion set");
  EXPECT_EQ(create({{"adapter_type", "foo"}}).error().message, "invalid parameter value: foo");
  EXPECT_EQ(create({{"subformat", "foo"}}).error().message, "invalid parameter value: foo");
  EXPECT_EQ(create({{"subformat", "monolithicFlat"}, {"zeroed_grain", "on"}}).error().message,
            "Flat image can't enable zeroed grain");
  EXPECT_EQ(create({}, "b.vmdk", "raw").error().message, "backing_file must be a vmdk image");
  EXPECT_TRUE(create({{"adapter_type", "lsilogic"}, {"compat6", "on"}}));
}

}  // namespace
}  // namespace dk::fmt

namespace dk::fmt {
namespace {

// A hand-made VMFSSPARSE (COWD) extent: 1 MiB, 4 KiB grains, grain 1
// allocated. Read through a vmfsSparse descriptor and directly; never written.
TEST(VmdkVmfsSparse, ReadsCowdExtents) {
  TempDir t;
  const std::string dat = t.path("c-delta.vmdk"), desc = t.path("c.vmdk");
  {
    File f = *File::open(dat, O_RDWR | O_CREAT);
    std::vector<std::byte> img(48 * 512);
    auto put = [&](size_t off, uint32_t v) { std::memcpy(img.data() + off, &v, 4); };
    std::memcpy(img.data(), "COWD", 4);
    put(4, 1);     // version
    put(8, 3);     // flags
    put(12, 2048); // disk_sectors
    put(16, 8);    // granularity
    put(20, 4);    // l1dir_offset
    put(24, 1);    // l1dir_size
    put(4 * 512, 5);           // L1[0] -> grain table at sector 5
    put(5 * 512 + 4, 40);      // GT[1] -> grain at sector 40
    auto p = pattern(4096, 3);
    std::memcpy(img.data() + 40 * 512, p.data(), p.size());
    ASSERT_TRUE(f.pwrite_all(0, img));
  }
  write_text(desc, "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n"
                   "createType=\"vmfsSparse\"\n\nRW 2048 VMFSSPARSE \"c-delta.vmdk\"\n");
  for (const std::string& path : {desc, dat}) {
    auto l = open_ok(path, true);
    ASSERT_TRUE(l);
    EXPECT_EQ(l->size(), 1u << 20);
    std::vector<std::byte> b(8192);
    ASSERT_TRUE(l->read(0, b));
    EXPECT_EQ(std::vector<std::byte>(b.begin(), b.begin() + 4096), std::vector<std::byte>(4096));
    EXPECT_EQ(std::vector<std::byte>(b.begin() + 4096, b.end()), pattern(4096, 3));
    auto w = l->write(0, pattern(512, 1));
    ASSERT_FALSE(w);
    EXPECT_EQ(w.error().code, EROFS);
  }
  if (have_program("qemu-img")) {
    int st = -1;
    std::string raw = t.path("q.raw");
    run("qemu-img convert -O raw '" + desc + "' '" + raw + "'", &st);
    ASSERT_EQ(st, 0);
    std::string out = run("qemu-img compare -q -f raw -F vmdk '" +
                          raw + "' '" + desc + "' 2>&1", &st);
    EXPECT_EQ(st, 0) << out;
  }
}

}  // namespace
}  // namespace dk::fmt
