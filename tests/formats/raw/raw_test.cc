#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include <gtest/gtest.h>

#include "formats/chain.h"
#include "formats/core/file.h"
#include "formats/raw/raw.h"
#include "tests/formats/raw/test_support.h"

namespace dk::fmt {
namespace {

using testing::have_program;
using testing::our_map;
using testing::qemu_map;
using testing::run;
using testing::TempDir;

std::vector<std::byte> pattern(size_t n, uint8_t seed) {
  std::vector<std::byte> v(n);
  for (size_t i = 0; i < n; i++) v[i] = std::byte(static_cast<uint8_t>(seed + i * 7));
  return v;
}

void write_file(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
}

Result<std::unique_ptr<Layer>> open_rw(const std::string& p, bool probed = false) {
  OpenOptions o;
  o.writable = true;
  o.probed = probed;
  return open_raw(p, o);
}

TEST(Raw, CreateReadWrite) {
  TempDir t;
  std::string p = t.path("a.img");
  CreateSpec spec;
  spec.size = 1 << 20;
  ASSERT_TRUE(create_raw(p, spec));
  auto l = open_rw(p);
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_EQ((*l)->size(), 1u << 20);
  EXPECT_EQ((*l)->format_name(), "raw");
  auto data = pattern(10000, 3);
  ASSERT_TRUE((*l)->write(12345, data));
  std::vector<std::byte> back(10000);
  ASSERT_TRUE((*l)->read(12345, back));
  EXPECT_EQ(back, data);
  ASSERT_TRUE((*l)->flush());
  EXPECT_FALSE((*l)->read((1 << 20) - 1, std::span(back).first(2)));
}

TEST(Raw, SizeRoundsUpToSectors) {
  TempDir t;
  std::string p = t.path("odd.img");
  write_file(p, std::string(1000, 'x'));
  auto l = open_raw(p, {});
  ASSERT_TRUE(l);
  EXPECT_EQ((*l)->size(), 1024u);
  std::vector<std::byte> b(24);
  ASSERT_TRUE((*l)->read(1000, b));
  for (auto c : b) EXPECT_EQ(c, std::byte{0});
  auto e = (*l)->block_status(0, 1024);
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->data());
  EXPECT_EQ(e->length, 1000u);
  e = (*l)->block_status(1000, 24);
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->zero());
  EXPECT_FALSE(e->data());
}

TEST(Raw, ReadOnlyRefusesWrites) {
  TempDir t;
  std::string p = t.path("ro.img");
  CreateSpec spec;
  spec.size = 4096;
  ASSERT_TRUE(create_raw(p, spec));
  auto l = open_raw(p, {});
  ASSERT_TRUE(l);
  auto r = (*l)->write(0, pattern(512, 1));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EROFS);
}

TEST(Raw, ProbedRefusesFormatHeaderInSectorZero) {
  TempDir t;
  std::string p = t.path("probed.img");
  CreateSpec spec;
  spec.size = 1 << 16;
  ASSERT_TRUE(create_raw(p, spec));
  auto l = open_rw(p, /*probed=*/true);
  ASSERT_TRUE(l);
  EXPECT_EQ((*l)->request_alignment(), 512u);
  // Ordinary data is fine, also at offset 0 and unaligned (RMW).
  ASSERT_TRUE((*l)->write(3, pattern(100, 9)));
  ASSERT_TRUE((*l)->write(0, pattern(4096, 1)));
  // A qcow2 magic is refused when a qcow2 driver recognises it.
  std::vector<std::byte> hdr(512);
  const unsigned char magic[] = {'Q', 'F', 'I', 0xfb, 0, 0, 0, 3};
  std::memcpy(hdr.data(), magic, sizeof magic);
  const FormatDriver* q = find_driver("qcow2");
  if (q && q->probe(hdr, "") > 1) {
    auto r = (*l)->write(0, hdr);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, EPERM);
    // Not probed: allowed.
    auto l2 = open_rw(p, false);
    ASSERT_TRUE(l2);
    l->reset();
    EXPECT_TRUE((*l2)->write(0, hdr));
  }
}

TEST(Raw, WriteZeroesAndDiscard) {
  TempDir t;
  std::string p = t.path("z.img");
  CreateSpec spec;
  spec.size = 1 << 20;
  ASSERT_TRUE(create_raw(p, spec));
  auto l = open_rw(p);
  ASSERT_TRUE(l);
  ASSERT_TRUE((*l)->write(0, pattern(1 << 20, 5)));
  ASSERT_TRUE((*l)->write_zeroes(65536, 65536, /*may_unmap=*/true));
  ASSERT_TRUE((*l)->write_zeroes(200000, 1000, false));
  ASSERT_TRUE((*l)->discard(524288, 65536));
  std::vector<std::byte> b(65536);
  ASSERT_TRUE((*l)->read(65536, b));
  for (auto c : b) ASSERT_EQ(c, std::byte{0});
  auto e = (*l)->block_status(65536, 65536);
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->zero());
  EXPECT_EQ(e->length, 65536u);
  ASSERT_TRUE((*l)->read(200000, std::span(b).first(1000)));
  for (size_t i = 0; i < 1000; i++) ASSERT_EQ(b[i], std::byte{0});
  ASSERT_TRUE((*l)->read(524288, b));
  for (auto c : b) ASSERT_EQ(c, std::byte{0});
}

TEST(Raw, Truncate) {
  TempDir t;
  std::string p = t.path("t.img");
  write_file(p, "");
  auto l = open_rw(p);
  ASSERT_TRUE(l);
  EXPECT_EQ((*l)->size(), 0u);
  ASSERT_TRUE((*l)->truncate(1500, false));
  EXPECT_EQ((*l)->size(), 1536u);
  auto r = (*l)->truncate(512, false);
  ASSERT_FALSE(r);
  ASSERT_TRUE((*l)->truncate(512, true));
  EXPECT_EQ((*l)->size(), 512u);
}

TEST(Raw, CreateOptions) {
  TempDir t;
  std::string p = t.path("o.img");
  CreateSpec spec;
  spec.size = 1000;
  spec.options["bogus"] = "1";
  auto r = create_raw(p, spec);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "Invalid parameter 'bogus'");
  spec.options = {{"preallocation", "bad"}};
  r = create_raw(p, spec);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "invalid parameter value: bad");
  spec.options = {{"extent_size_hint", "5G"}};
  EXPECT_FALSE(create_raw(p, spec));
  spec.options = {{"nocow", "maybe"}};
  EXPECT_FALSE(create_raw(p, spec));
  spec.options = {{"preallocation", "full"}, {"extent_size_hint", "1M"}, {"nocow", "off"}};
  ASSERT_TRUE(create_raw(p, spec));
  File f = *File::open(p, O_RDONLY);
  EXPECT_EQ(*f.size(), 1024u);
  spec.options = {{"size", "64k"}, {"preallocation", "falloc"}};
  ASSERT_TRUE(create_raw(p, spec));
  File g = *File::open(p, O_RDONLY);
  EXPECT_EQ(*g.size(), 65536u);
}

// `qemu-img map` of our images matches our chain_block_status walk.
TEST(Raw, MapMatchesQemu) {
  if (!have_program("qemu-img")) GTEST_SKIP() << "qemu-img missing";
  TempDir t;
  struct Case {
    const char* name;
    uint64_t size;
    const char* prealloc;
  } cases[] = {{"off.img", 1 << 20, "off"}, {"falloc.img", 1 << 20, "falloc"},
               {"full.img", 3 << 20, "full"}, {"small.img", 1000, "off"}, {"zero.img", 0, "off"}};
  for (const auto& c : cases) {
    std::string p = t.path(c.name);
    CreateSpec spec;
    spec.size = c.size;
    spec.options["preallocation"] = c.prealloc;
    ASSERT_TRUE(create_raw(p, spec));
    auto l = open_raw(p, {});
    ASSERT_TRUE(l);
    EXPECT_EQ(our_map(**l), qemu_map(p, "raw")) << c.name;
  }
  // Holes and data in the middle, and an unaligned tail.
  std::string p = t.path("holes.img");
  run("truncate -s 300000 '" + p + "' && printf x | dd of='" + p +
      "' bs=1 seek=150000 conv=notrunc 2>/dev/null && printf y | dd of='" + p +
      "' bs=1 seek=299999 conv=notrunc 2>/dev/null");
  auto l = open_raw(p, {});
  ASSERT_TRUE(l);
  EXPECT_EQ(our_map(**l), qemu_map(p, "raw"));
  EXPECT_EQ(our_map(**l), qemu_map(p, ""));
}

TEST(Raw, DirectIo) {
  TempDir t;
  std::string p = t.path("d.img");
  CreateSpec spec;
  spec.size = 1 << 20;
  ASSERT_TRUE(create_raw(p, spec));
  OpenOptions o;
  o.writable = true;
  o.direct = true;
  auto l = open_raw(p, o);
  if (!l && l.error().code == EINVAL) GTEST_SKIP() << "no O_DIRECT here";
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_GE((*l)->request_alignment(), 512u);
  auto data = pattern(5000, 11);
  ASSERT_TRUE((*l)->write(777, data));
  std::vector<std::byte> back(5000);
  ASSERT_TRUE((*l)->read(777, back));
  EXPECT_EQ(back, data);
}

TEST(Raw, OpenImageProbesAndRejectsUnknownFormat) {
  TempDir t;
  std::string p = t.path("p.img");
  CreateSpec spec;
  spec.size = 4096;
  ASSERT_TRUE(create_raw(p, spec));
  auto l = open_image(p, "", {});
  ASSERT_TRUE(l);
  EXPECT_EQ((*l)->format_name(), "raw");
  EXPECT_EQ((*l)->request_alignment(), 512u);  // probed
  auto bad = open_image(p, "nosuch", {});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("Unknown driver 'nosuch'"), std::string::npos);
  auto missing = open_image(t.path("missing.img"), "raw", {});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ENOENT);
}

}  // namespace
}  // namespace dk::fmt
