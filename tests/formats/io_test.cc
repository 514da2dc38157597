// The request pipeline (formats/io.cc) against a MockLayer.
#include <gtest/gtest.h>

#include "tests/formats/mock_layer.h"

namespace dk::fmt {
namespace {

using testing::MockLayer;
using A = MockLayer::Alloc;

std::vector<std::byte> bytes(size_t n, uint8_t seed) {
  std::vector<std::byte> v(n);
  for (size_t i = 0; i < n; i++) v[i] = std::byte(static_cast<uint8_t>(seed + i * 13));
  return v;
}

bool all_zero(std::span<const std::byte> s) {
  return std::all_of(s.begin(), s.end(), [](std::byte b) { return b == std::byte{0}; });
}

TEST(Io, BoundsAreChecked) {
  MockLayer l("m", 4096);
  std::vector<std::byte> b(16);
  EXPECT_TRUE(l.read(4080, b));
  EXPECT_EQ(l.read(4081, b).error().code, EINVAL);
  EXPECT_EQ(l.read(UINT64_MAX - 4, b).error().code, EINVAL);
  EXPECT_EQ(l.write(4090, b).error().code, EINVAL);
  EXPECT_EQ(l.write_zeroes(0, 4097).error().code, EINVAL);
  EXPECT_EQ(l.discard(4096, 1).error().code, EINVAL);
  EXPECT_EQ(l.block_status(4096, 1).error().code, EINVAL);
  EXPECT_FALSE(l.block_status(0, 0));
  EXPECT_TRUE(l.read(4096, std::span(b).first(0)));
  EXPECT_TRUE(l.write_zeroes(4096, 0));
}

TEST(Io, ReadOnlyLayerRefusesWrites) {
  MockLayer l("ro", 4096, /*writable=*/false);
  std::vector<std::byte> b(16);
  EXPECT_EQ(l.write(0, b).error().code, EROFS);
  EXPECT_EQ(l.write_zeroes(0, 16).error().code, EROFS);
  EXPECT_EQ(l.discard(0, 16).error().code, EROFS);
  EXPECT_EQ(l.truncate(8192, false).error().code, EROFS);
  EXPECT_EQ(l.write_compressed(0, b).error().code, EROFS);
  EXPECT_TRUE(l.flush());
  EXPECT_TRUE(l.read(0, b));
  EXPECT_EQ(l.writes, 0);
}

// Every request reaching the driver is aligned (or ends at the image end).
void expect_aligned(const MockLayer& l) {
  for (const auto& c : l.calls) {
    if (c.op == 's' || c.op == 'f') continue;
    EXPECT_EQ(c.off % l.align, 0u) << c.op << " at " << c.off;
    EXPECT_TRUE(c.len % l.align == 0 || c.off + c.len == l.size()) << c.op << " len " << c.len;
    EXPECT_LE(c.len, l.max_xfer);
  }
}

TEST(Io, UnalignedWritesUseReadModifyWrite) {
  MockLayer l("m", 3 * 4096 + 1024);  // the last block is short
  l.align = 4096;
  l.set_alloc(0, l.size(), A::kData, 0x5a);
  std::vector<std::byte> shadow(l.size(), std::byte{0x5a});
  auto put = [&](uint64_t off, std::span<const std::byte> d) {
    ASSERT_TRUE(l.write(off, d));
    std::copy(d.begin(), d.end(), shadow.begin() + off);
  };
  put(100, bytes(5000, 1));
  put(l.size() - 1000, bytes(1000, 2));
  put(4096 * 3 + 3, bytes(10, 3));
  put(4096, bytes(4096, 4));  // aligned: no read needed
  expect_aligned(l);
  std::vector<std::byte> back(l.size());
  ASSERT_TRUE(l.read(0, back));
  EXPECT_EQ(back, shadow);
  // Unaligned reads come back right too.
  std::vector<std::byte> part(77);
  ASSERT_TRUE(l.read(4090, part));
  EXPECT_TRUE(std::equal(part.begin(), part.end(), shadow.begin() + 4090));
  ASSERT_TRUE(l.read(l.size() - 5, std::span(part).first(5)));
  EXPECT_TRUE(std::equal(part.begin(), part.begin() + 5, shadow.end() - 5));
  expect_aligned(l);
}

TEST(Io, RequestsAreSplitAtMaxTransfer) {
  MockLayer l("m", 1 << 20);
  l.align = 512;
  l.max_xfer = 10000;  // not a multiple of the alignment
  auto d = bytes(300000, 3);
  ASSERT_TRUE(l.write(512, d));
  std::vector<std::byte> back(300000);
  ASSERT_TRUE(l.read(512, back));
  EXPECT_EQ(back, d);
  ASSERT_TRUE(l.write_zeroes(0, 1 << 20));
  ASSERT_TRUE(l.discard(0, 1 << 20));
  expect_aligned(l);
}

TEST(Io, MaxTransferBelowAlignment) {
  MockLayer l("m", 1 << 16);
  l.align = 4096;
  l.max_xfer = 100;
  l.zeroes_supported = false;
  auto d = bytes(9000, 4);
  ASSERT_TRUE(l.write(10, d));
  ASSERT_TRUE(l.write_zeroes(0, 1 << 16));
  std::vector<std::byte> back(1 << 16);
  ASSERT_TRUE(l.read(0, back));
  EXPECT_TRUE(all_zero(back));
}

TEST(Io, WriteZeroesFallsBackToWritingZeroes) {
  MockLayer l("m", 1 << 20);
  l.set_alloc(0, 1 << 20, A::kData, 0xff);
  l.zeroes_supported = false;
  ASSERT_TRUE(l.write_zeroes(1000, 200000));
  std::vector<std::byte> back(1 << 20);
  ASSERT_TRUE(l.read(0, back));
  EXPECT_EQ(back[999], std::byte{0xff});
  EXPECT_TRUE(all_zero(std::span(back).subspan(1000, 200000)));
  EXPECT_EQ(back[201000], std::byte{0xff});
  EXPECT_GT(l.writes, 0);
  // With support, the driver zeroes whole grains itself.
  MockLayer z("z", 1 << 20);
  z.align = 512;
  ASSERT_TRUE(z.write_zeroes(512, 4096));
  EXPECT_EQ(z.alloc_at(512), A::kZero);
}

TEST(Io, DiscardWithoutSupportIsANoOp) {
  MockLayer l("m", 8192);
  l.discard_supported = false;
  l.set_alloc(0, 8192, A::kData, 1);
  EXPECT_TRUE(l.discard(0, 8192));
  std::vector<std::byte> b(1);
  ASSERT_TRUE(l.read(0, b));
  EXPECT_EQ(b[0], std::byte{1});
}

TEST(Io, DiscardOnlyPassesAlignedRanges) {
  MockLayer l("m", 1 << 16);
  l.align = 4096;
  ASSERT_TRUE(l.discard(100, 9000));
  ASSERT_TRUE(l.discard(100, 200));
  expect_aligned(l);
}

TEST(Io, InjectedFaultsPropagate) {
  MockLayer l("m", 1 << 16);
  l.max_xfer = 4096;
  l.fail_read_nth = 3;
  std::vector<std::byte> b(1 << 16);
  auto r = l.read(0, b);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EIO);
  EXPECT_EQ(l.reads, 3);
  l.fail_write_nth = 2;
  auto w = l.write(0, b);
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, EIO);
  // A truncated backing store: reads past it fail, with the file named.
  MockLayer s("short.img", 8192);
  s.short_after = 5000;
  s.set_alloc(0, 8192, A::kData, 1);
  EXPECT_TRUE(s.read(0, std::span(b).first(4096)));
  auto e = s.read(4096, std::span(b).first(4096));
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("short.img"), std::string::npos);
}

TEST(Io, UnallocatedReadsComeFromBackingOrZero) {
  auto top = std::make_unique<MockLayer>("top", 8192);
  auto base = std::make_unique<MockLayer>("base", 4096, false);
  base->set_alloc(0, 4096, A::kData, 7);
  top->set_alloc(0, 512, A::kData, 9);
  top->set_backing(std::move(base));
  std::vector<std::byte> b(8192);
  ASSERT_TRUE(top->read(0, b));
  EXPECT_EQ(b[0], std::byte{9});
  EXPECT_EQ(b[512], std::byte{7});
  EXPECT_EQ(b[4095], std::byte{7});
  EXPECT_TRUE(all_zero(std::span(b).subspan(4096)));  // past the shorter backing
  // A partial write to an unallocated grain keeps the backing bytes around it.
  ASSERT_TRUE(top->write(1000, bytes(4, 0)));
  ASSERT_TRUE(top->read(512, std::span(b).first(1024)));
  EXPECT_EQ(b[0], std::byte{7});
  EXPECT_EQ(b[1000 - 512 + 4], std::byte{7});
}

TEST(Io, BlockStatusLengthIsValidated) {
  MockLayer l("m", 4096);
  auto e = l.block_status(100, 50);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->length, 50u);
  EXPECT_FALSE(e->allocated());
}

}  // namespace
}  // namespace dk::fmt
