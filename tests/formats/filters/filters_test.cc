#include <gtest/gtest.h>

#include "formats/filters/filters.h"
#include "tests/formats/mock_layer.h"

namespace dk::fmt {
namespace {

using testing::MockLayer;
using A = MockLayer::Alloc;

std::vector<std::byte> bytes(size_t n, uint8_t seed) {
  std::vector<std::byte> v(n);
  for (size_t i = 0; i < n; i++) v[i] = std::byte(static_cast<uint8_t>(seed + i * 31));
  return v;
}

TEST(OffsetView, ReadsWritesAndStatusAreShifted) {
  MockLayer disk("disk.img", 1 << 20);
  disk.align = 512;
  disk.set_alloc(0, 1 << 20, A::kData, 0x11);
  disk.set_alloc(65536 + 8192, 4096, A::kZero);
  auto v = make_offset_view(disk, 65536, 32768);
  ASSERT_TRUE(v);
  Layer& part = **v;
  EXPECT_EQ(part.size(), 32768u);
  EXPECT_EQ(part.format_name(), "raw");
  EXPECT_TRUE(part.writable());
  auto d = bytes(1000, 5);
  ASSERT_TRUE(part.write(7, d));  // unaligned: the disk's pipeline does RMW
  std::vector<std::byte> back(1000);
  ASSERT_TRUE(disk.read(65536 + 7, back));
  EXPECT_EQ(back, d);
  ASSERT_TRUE(part.read(7, back));
  EXPECT_EQ(back, d);
  auto e = part.block_status(8192, 8192);
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->zero());
  EXPECT_EQ(e->length, 4096u);
  e = part.block_status(0, 8192);
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->data());
  EXPECT_EQ(e->offset, 65536u);  // host offset in the image file
  EXPECT_FALSE(part.read(32768 - 10, std::span(back).first(11)));  // bounds are the window's
  ASSERT_TRUE(part.write_zeroes(0, 4096));
  ASSERT_TRUE(disk.read(65536, std::span(back).first(16)));
  EXPECT_EQ(back[0], std::byte{0});
  EXPECT_EQ(disk.alloc_at(0), A::kData);  // nothing outside the window changed
}

TEST(OffsetView, WindowMustFit) {
  MockLayer disk("disk.img", 4096);
  EXPECT_FALSE(make_offset_view(disk, 4000, 100));
  EXPECT_FALSE(make_offset_view(disk, UINT64_MAX, 2));
  EXPECT_TRUE(make_offset_view(disk, 4096, 0));
  auto owned = make_offset_view(std::make_unique<MockLayer>("x", 8192), 4096, 4096);
  ASSERT_TRUE(owned);
  EXPECT_EQ((*owned)->size(), 4096u);
}

TEST(ReadOnly, RefusesWritesPassesReads) {
  MockLayer disk("disk.img", 8192);
  disk.set_alloc(0, 4096, A::kData, 7);
  disk.format = "qcow2";
  auto ro = make_read_only(disk);
  EXPECT_FALSE(ro->writable());
  EXPECT_EQ(ro->format_name(), "qcow2");
  EXPECT_EQ(ro->filename(), "disk.img");
  std::vector<std::byte> b(16);
  ASSERT_TRUE(ro->read(0, b));
  EXPECT_EQ(b[0], std::byte{7});
  EXPECT_EQ(ro->write(0, b).error().code, EROFS);
  EXPECT_EQ(ro->write_zeroes(0, 16).error().code, EROFS);
  EXPECT_EQ(ro->discard(0, 16).error().code, EROFS);
  EXPECT_EQ(disk.writes, 0);
  auto e = ro->block_status(0, 8192);
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->data());
  EXPECT_EQ(e->length, 4096u);
  e = ro->block_status(4096, 4096);
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->zero());  // unallocated at the bottom of the chain reads as zero
}

TEST(ReadOnly, StatusSeesTheChainBelow) {
  auto top = std::make_unique<MockLayer>("top", 8192);
  auto base = std::make_unique<MockLayer>("base", 8192, false);
  base->set_alloc(0, 8192, A::kData, 3);
  top->set_backing(std::move(base));
  auto ro = make_read_only(std::move(top));
  auto e = ro->block_status(0, 8192);
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->data());
  EXPECT_EQ(e->file, "base");
}

class Cow : public ::testing::TestWithParam<CowStorage> {};

TEST_P(Cow, WritesNeverReachTheLayerBelow) {
  MockLayer disk("disk.img", 400000, /*writable=*/false);  // not a multiple of the grain
  disk.set_alloc(0, 400000, A::kData, 0x22);
  auto c = make_cow_overlay(disk, GetParam());
  ASSERT_TRUE(c) << c.error().message;
  Layer& cow = **c;
  EXPECT_TRUE(cow.writable());
  EXPECT_EQ(cow.size(), 400000u);
  std::vector<std::byte> shadow(400000);
  ASSERT_TRUE(disk.read(0, shadow));
  auto put = [&](uint64_t off, std::span<const std::byte> d) {
    ASSERT_TRUE(cow.write(off, d));
    std::copy(d.begin(), d.end(), shadow.begin() + off);
  };
  put(100, bytes(1000, 1));           // partial grain
  put(65536 - 10, bytes(70000, 2));   // spans grains, one whole
  put(400000 - 5, bytes(5, 3));       // the short last grain
  put(110, bytes(10, 4));             // rewrite inside an overlay grain
  ASSERT_TRUE(cow.write_zeroes(131072, 65536));  // a whole grain: no data written
  std::fill(shadow.begin() + 131072, shadow.begin() + 196608, std::byte{0});
  ASSERT_TRUE(cow.write_zeroes(200000, 100));
  std::fill(shadow.begin() + 200000, shadow.begin() + 200100, std::byte{0});
  std::vector<std::byte> back(400000);
  ASSERT_TRUE(cow.read(0, back));
  EXPECT_EQ(back, shadow);
  EXPECT_EQ(disk.writes, 0);
  for (auto b : disk.raw_data()) ASSERT_EQ(b, std::byte{0x22});

  auto e = cow.block_status(131072, 65536);
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->zero());
  EXPECT_FALSE(e->data());
  e = cow.block_status(0, 400000);
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->data());
  EXPECT_FALSE(e->offset_valid());
  e = cow.block_status(262144, 1000);  // untouched: the layer below answers
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->data());
  EXPECT_EQ(e->file, "disk.img");
}

TEST_P(Cow, ReadErrorsBelowPropagate) {
  MockLayer disk("disk.img", 1 << 17, false);
  disk.fail_read_nth = 1;
  auto c = make_cow_overlay(disk, GetParam());
  ASSERT_TRUE(c);
  auto r = (*c)->write(10, bytes(10, 1));  // needs the grain from below
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EIO);
}

INSTANTIATE_TEST_SUITE_P(Storage, Cow, ::testing::Values(CowStorage::kMemory, CowStorage::kTempFile));

}  // namespace
}  // namespace dk::fmt
