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
  for (const char* line : {"RW -5 FLAT \"a\" 0", "RW 10 FLAT \"a", "RW x SPARSE \"a\""}) {
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
  for (const char* n : {"missing.vmdk", "huge.vmdk", "many.vmdk", "type.vmdk"}) {
    auto l = find_driver("vmdk")->open(t.path(n), OpenOptions{});
    EXPECT_FALSE(l) << n;
  }
  // No extents: an empty disk (qemu-img 7.2 aborts on an assertion here).
  auto l = find_driver("vmdk")->open(t.path("none.vmdk"), OpenOptions{});
  ASSERT_TRUE(l);
  EXPECT_EQ((*l)->size(), 0u);
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

// A hand-made seSparse extent (no tool here writes them). Layout: const
// header at sector 0, volatile header at 1, grain directory at 2 (1
// sector = 64 entries), grain tables from sector 3 (64 sectors each),
// grains from sector 200. Returns the file bytes; `mutate` edits them.
std::vector<std::byte> make_sesparse(uint64_t capacity_sectors) {
  std::vector<std::byte> img(200 * 512 + 8 * 4096);
  auto put = [&](size_t off, uint64_t v) { std::memcpy(img.data() + off, &v, 8); };
  put(0, 0xcafebabeull);
  put(8, 0x200000001ull);
  put(16, capacity_sectors);
  put(24, 8);                       // grain size
  put(32, 64);                      // grain table size
  put(80, 1);  put(88, 1);          // volatile header
  put(96, 0);  put(104, 0);         // journal header
  put(112, 0); put(120, 0);         // journal
  put(128, 2); put(136, 1);         // grain directory
  put(144, 3); put(152, 128);       // grain tables (2)
  put(160, 0); put(168, 0);         // free bitmap
  put(176, 0); put(184, 0);         // backmap
  put(192, 200); put(200, 64);      // grains
  put(512, 0xcafecafeull);
  // GD[0] -> table 1 (sector 3 + 64), GD[1] -> table 0, GD[2] absent.
  put(2 * 512, 0x1000000000000001ull);
  put(2 * 512 + 8, 0x1000000000000000ull);
  auto gte = [&](int table, uint64_t i, uint64_t v) { put((3 + 64 * table) * 512 + i * 8, v); };
  // Guest grain 0 -> grain index 2; grain 1 -> index 3 (contiguous);
  // grain 2 zero, grain 3 unmapped, grain 5 -> index 0x1005 split across
  // the entry's two fields is too far, so use index 1; grain 4096 (second
  // table) -> index 0.
  auto alloc = [](uint64_t index) { return 0x3000000000000000ull | ((index & 0xfff) << 48) | (index >> 12); };
  gte(1, 0, alloc(2));
  gte(1, 1, alloc(3));
  gte(1, 2, 0x2000000000000000ull);
  gte(1, 3, 0x1000000000000000ull);
  gte(1, 5, alloc(1));
  gte(0, 0, alloc(0));
  for (int g = 0; g < 4; ++g) {
    auto p = pattern(4096, 10 + g);
    std::memcpy(img.data() + 200 * 512 + g * 4096, p.data(), p.size());
  }
  return img;
}

void write_bytes(const std::string& path, const std::vector<std::byte>& b) {
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

TEST(VmdkSeSparse, ReadsAndMapsLikeQemu) {
  TempDir t;
  const std::string dat = t.path("s-sesparse.vmdk"), desc = t.path("s.vmdk");
  const uint64_t sectors = 3 * 32768;  // 48 MiB: three grain tables' worth, the third absent
  write_bytes(dat, make_sesparse(sectors));
  write_text(desc, "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n"
                   "createType=\"seSparse\"\n\n# Extent description\nRW " + std::to_string(sectors) +
                   " SESPARSE \"s-sesparse.vmdk\"\n\n#DDB\nddb.virtualHWVersion = \"14\"\n");
  auto l = open_ok(desc, true);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->size(), sectors * 512);
  EXPECT_EQ(l->cluster_size(), 4096u);
  std::vector<std::byte> b(6 * 4096);
  ASSERT_TRUE(l->read(0, b));
  auto grain = [&](int i) { return std::vector<std::byte>(b.begin() + i * 4096, b.begin() + (i + 1) * 4096); };
  EXPECT_EQ(grain(0), pattern(4096, 12));
  EXPECT_EQ(grain(1), pattern(4096, 13));
  EXPECT_EQ(grain(2), std::vector<std::byte>(4096));
  EXPECT_EQ(grain(3), std::vector<std::byte>(4096));
  EXPECT_EQ(grain(5), pattern(4096, 11));
  auto w = l->write(0, pattern(512, 1));
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, EROFS);
  auto st = l->block_status(2 * 4096, 8192);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->flags, kStatusZero);
  EXPECT_EQ(st->length, 8192u);
  l.reset();
  if (!have_program("qemu-img")) GTEST_SKIP() << "qemu-img not installed";
  int rc = -1;
  const std::string raw = t.path("q.raw");
  std::string out = run("qemu-img convert -O raw '" + desc + "' '" + raw + "' 2>&1", &rc);
  ASSERT_EQ(rc, 0) << out;
  out = run("qemu-img compare -q -f raw -F vmdk '" + raw + "' '" + desc + "' 2>&1", &rc);
  EXPECT_EQ(rc, 0) << out;
  auto ro = open_ok(desc);
  ASSERT_TRUE(ro);
  std::vector<std::byte> all(ro->size()), q(ro->size());
  ASSERT_TRUE(ro->read(0, all));
  File qf = *File::open(raw, O_RDONLY);
  ASSERT_TRUE(qf.pread_exact(0, q));
  EXPECT_TRUE(all == q);
  EXPECT_EQ(testing::our_map(*ro), testing::qemu_map(desc, "vmdk"));
}

TEST(VmdkSeSparse, MalformedHeadersFailCleanly) {
  TempDir t;
  const std::string dat = t.path("s-sesparse.vmdk"), desc = t.path("s.vmdk");
  write_text(desc, "# Disk DescriptorFile\nversion=1\nCID=1\nparentCID=ffffffff\ncreateType=\"seSparse\"\n"
                   "RW 98304 SESPARSE \"s-sesparse.vmdk\"\n");
  struct Case {
    size_t off;
    uint64_t value;
    const char* want;
  };
  const Case cases[] = {
      {0, 0xcafebabfull, "constant header magic"},
      {8, 0x100000001ull, "version"},
      {24, 16, "grain size"},
      {32, 32, "grain table size"},
      {40, 1, "flags"},
      {48, 1, "reserved"},
      {300, 1, "padding"},
      {80, 1u << 30, "volatile header offset"},
      {512, 0xcafebabeull, "volatile header magic"},
      {512 + 24, 1, "journal"},
      {128, 1ull << 40, "grain directory offset"},
      {136, 1ull << 40, "too large"},
      {2 * 512, 0x2000000000000001ull, "grain directory entry"},
      {(3 + 64) * 512 + 8 * 7, 0x4000000000000000ull, "grain table entry"},
      {(3 + 64) * 512 + 8 * 7, 0x0000000000000005ull, "grain table entry"},
      {(3 + 64) * 512 + 8 * 7, 0x3000000000ffffffull, "grain table entry"},
      {2 * 512 + 8, 0x1000000000ff0000ull, "beyond the end"},
  };
  for (const Case& c : cases) {
    auto img = make_sesparse(98304);
    std::memcpy(img.data() + c.off, &c.value, 8);
    write_bytes(dat, img);
    OpenOptions o;
    auto l = find_driver("vmdk")->open(desc, o);
    std::string msg;
    if (!l) {
      msg = l.error().message;
    } else {
      std::vector<std::byte> b((*l)->size());
      auto r = (*l)->read(0, b);
      ASSERT_FALSE(r) << c.want;
      msg = r.error().message;
      EXPECT_FALSE((*l)->block_status(0, (*l)->size()) && (*l)->block_status(7 * 4096, 4096) &&
                   (*l)->block_status(4096 * 4096, 4096))
          << c.want;
    }
    EXPECT_NE(msg.find(c.want), std::string::npos) << msg;
    EXPECT_NE(msg.find("s-sesparse.vmdk"), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace dk::fmt
