// Copy engine: concatenation, zero detection, -S 0, -B delta, compression,
// ordering and error propagation, on in-memory layers.
#include <gtest/gtest.h>

#include <memory>

#include "formats/convert/convert.h"
#include "tests/formats/convert/mem_layer.h"

namespace dk::fmt {
namespace {

using testing::MemLayer;
using testing::SplitMemLayer;

constexpr uint64_t kMiB = 1 << 20;

std::vector<std::byte> concat(std::vector<MemLayer*> ls) {
  std::vector<std::byte> v;
  for (MemLayer* l : ls) {
    auto c = l->contents();
    v.insert(v.end(), c.begin(), c.end());
  }
  return v;
}

Result<void> run(std::vector<Layer*> src, Layer& dst, ConvertOptions o = {}) {
  return convert_image(src, dst, o);
}

TEST(ConvertEngine, ConcatenatesSourcesAndNeverReadsHoles) {
  MemLayer a("a", 3 * kMiB + 1000, false), b("b", 5 * kMiB + 12345, false);
  a.put_pattern(4096, 100000, 1);
  a.put_pattern(3 * kMiB, 1000, 2);
  b.put_pattern(0, 512, 3);
  b.put_pattern(4 * kMiB + 7, 2 * kMiB / 3, 4);
  MemLayer dst("d", a.size() + b.size(), true, 65536);
  ASSERT_TRUE(run({&a, &b}, dst));
  EXPECT_EQ(dst.contents(), concat({&a, &b}));
  for (MemLayer* l : {&a, &b})
    for (const auto& r : l->log) {
      ASSERT_EQ(r.kind, 'r');
      for (uint64_t i = r.off; i < r.off + r.len; ++i) ASSERT_EQ(l->state()[i], testing::kData) << l->filename() << i;
    }
}

TEST(ConvertEngine, ThreadSafeLayersAreCopiedInParallel) {
  MemLayer a("a", 13 * kMiB + 512, false), b("b", 7 * kMiB, false);
  a.fmt_name = b.fmt_name = "raw";
  for (uint64_t off = 0; off + kMiB + 4096 <= a.size(); off += 3 * kMiB)
    a.put_pattern(off, kMiB + 4096, static_cast<uint8_t>(off >> 20));
  b.put_pattern(kMiB, 5 * kMiB, 9);
  MemLayer d("d", a.size() + b.size(), true);
  d.fmt_name = "raw";
  d.fail_write_at = 18 * kMiB + 100;
  ConvertOptions o;
  o.threads = 4;
  auto r = run({&a, &b}, d, o);
  ASSERT_FALSE(r);  // the error of the first failing chunk in guest order
  EXPECT_EQ(r.error().message, "error while writing at byte 16777216: injected write error") << r.error().message;
  d.fail_write_at.reset();
  d.log.clear();
  ASSERT_TRUE(run({&a, &b}, d, o));
  EXPECT_EQ(d.contents(), concat({&a, &b}));
}

TEST(ConvertEngine, ZeroGranulesInDataAreNotWritten) {
  MemLayer s("s", 2 * kMiB, false);
  s.put_pattern(0, 2 * kMiB, 9);
  std::vector<std::byte> z(8192);
  s.put(65536, z);         // two zero 4k granules inside data
  s.put(65536 + 12288, std::span(z).first(2048));  // a half-zero granule stays data
  MemLayer d("d", 2 * kMiB, true);
  ASSERT_TRUE(run({&s}, d));
  EXPECT_EQ(d.contents(), s.contents());
  EXPECT_EQ(d.state()[65536], testing::kUnalloc);
  EXPECT_EQ(d.state()[65536 + 8191], testing::kUnalloc);
  EXPECT_EQ(d.state()[65536 + 8192], testing::kData);
  EXPECT_EQ(d.state()[65536 + 12288], testing::kData);
  for (const auto& r : d.log) EXPECT_EQ(r.kind, 'w');
}

TEST(ConvertEngine, TargetThatMayHoldDataGetsWriteZeroes) {
  MemLayer s("s", 4 * kMiB, false);
  s.put_pattern(kMiB, 4096, 1);
  MemLayer d("d", 4 * kMiB, true);
  d.put_pattern(0, 4 * kMiB, 5);  // old content
  ConvertOptions o;
  o.target_is_zero = false;
  ASSERT_TRUE(run({&s}, d, o));
  EXPECT_EQ(d.contents(), s.contents());
  bool saw_zero = false;
  for (const auto& r : d.log) saw_zero |= r.kind == 'z';
  EXPECT_TRUE(saw_zero);
}

TEST(ConvertEngine, SparseZeroWritesEverything) {
  MemLayer s("s", 3 * kMiB, false);
  s.put_pattern(kMiB, 4096, 1);
  MemLayer d("d", 3 * kMiB, true);
  ConvertOptions o;
  o.sparse_size = 0;
  ASSERT_TRUE(run({&s}, d, o));
  EXPECT_EQ(d.contents(), s.contents());
  for (uint8_t st : d.state()) ASSERT_EQ(st, testing::kData);
}

TEST(ConvertEngine, BackingDeltaWritesOnlyDifferences) {
  const uint64_t size = 6 * kMiB;
  auto base = std::make_unique<MemLayer>("base", size, false);
  base->put_pattern(0, 4 * kMiB, 1);
  MemLayer full("full", size, false);
  full.put_pattern(0, 4 * kMiB, 1);
  full.put_pattern(kMiB, 4096, 77);                    // changed data
  std::vector<std::byte> z(65536);
  full.put(2 * kMiB, z);                               // zeroed over base data
  full.put_pattern(5 * kMiB, 8192, 3);                 // new data past base data
  // The target's own view of its backing, and a separate compare view.
  MemLayer cmp("base", size, false);
  cmp.put_pattern(0, 4 * kMiB, 1);
  MemLayer delta("delta", size, true, 65536);
  delta.set_backing(std::move(base));
  ConvertOptions o;
  o.target_is_zero = false;
  o.compare_base = &cmp;
  ASSERT_TRUE(run({&full}, delta, o));
  EXPECT_EQ(delta.contents(), full.contents());
  uint64_t allocated = 0;
  for (uint8_t st : delta.state()) allocated += st != testing::kUnalloc;
  EXPECT_EQ(allocated, 4096u + 65536u + 8192u);
  EXPECT_EQ(delta.state()[2 * kMiB], testing::kZero);  // explicit zeroes, not unmapped
}

TEST(ConvertEngine, BaseShorterThanOutput) {
  auto base = std::make_unique<MemLayer>("base", kMiB, false);
  base->put_pattern(0, kMiB, 1);
  MemLayer cmp("base", kMiB, false);
  cmp.put_pattern(0, kMiB, 1);
  MemLayer full("full", 3 * kMiB, false);
  full.put_pattern(0, kMiB, 1);
  full.put_pattern(2 * kMiB, 4096, 2);
  MemLayer delta("delta", 3 * kMiB, true, 65536);
  delta.set_backing(std::move(base));
  ConvertOptions o;
  o.target_is_zero = false;
  o.compare_base = &cmp;
  ASSERT_TRUE(run({&full}, delta, o));
  EXPECT_EQ(delta.contents(), full.contents());
  ASSERT_EQ(delta.log.size(), 1u);
  EXPECT_EQ(delta.log[0], (testing::Request{'w', 2 * kMiB, 4096}));
}

TEST(ConvertEngine, CompressedWritesWholeClustersInOrder) {
  const uint64_t c = 65536;
  MemLayer s("s", 10 * c + 4096, false);
  s.put_pattern(100, 10, 1);           // partial data: the whole cluster 0 goes compressed
  s.put_pattern(3 * c, 2 * c, 2);
  s.put_pattern(10 * c, 4096, 3);      // partial last cluster of the image
  MemLayer d("d", s.size(), true, c);
  ConvertOptions o;
  o.compress = true;
  o.chunk_size = 2 * c;  // several chunks
  ASSERT_TRUE(run({&s}, d, o));
  EXPECT_EQ(d.contents(), s.contents());
  std::vector<testing::Request> want = {{'c', 0, c}, {'c', 3 * c, c}, {'c', 4 * c, c}, {'c', 10 * c, 4096}};
  EXPECT_EQ(d.log, want);
}

TEST(ConvertEngine, SplitCompressionKeepsGuestOrderWithWorkers) {
  const uint64_t c = 65536;
  MemLayer s("s", 200 * c, false);
  for (uint64_t i = 0; i < 200; i += 2) s.put_pattern(i * c, c, static_cast<uint8_t>(i));
  std::vector<std::byte> ff(16, std::byte{0xff});
  s.put(50 * c, ff);  // "incompressible": written plainly
  SplitMemLayer d("d", s.size(), true, c);
  ConvertOptions o;
  o.compress = true;
  o.threads = 4;
  o.chunk_size = 4 * c;
  ASSERT_TRUE(run({&s}, d, o));
  EXPECT_EQ(d.contents(), s.contents());
  ASSERT_EQ(d.log.size(), 100u);
  for (size_t i = 0; i < d.log.size(); ++i) {
    EXPECT_EQ(d.log[i].off, 2 * i * c);
    EXPECT_EQ(d.log[i].kind, i == 25 ? 'w' : 'p');
  }
}

TEST(ConvertEngine, CompressionUnsupported) {
  MemLayer s("s", kMiB, false);
  s.put_pattern(0, 4096, 1);
  MemLayer d("d", kMiB, true, 65536);
  d.compress_supported = false;
  ConvertOptions o;
  o.compress = true;
  auto r = run({&s}, d, o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "Compression not supported for this file format");
}

TEST(ConvertEngine, ReadErrorNamesTheOutputOffset) {
  MemLayer a("a", kMiB, false), b("b", 8 * kMiB, false);
  b.put_pattern(0, 8 * kMiB, 1);
  b.fail_read_at = 6 * kMiB;
  MemLayer d("d", 9 * kMiB, true);
  auto r = run({&a, &b}, d);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EIO);
  EXPECT_NE(r.error().message.find("error while reading at byte"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("injected read error"), std::string::npos);
  // Everything before the failing chunk was written, in order.
  for (size_t i = 1; i < d.log.size(); ++i) EXPECT_LT(d.log[i - 1].off, d.log[i].off);
}

TEST(ConvertEngine, WriteErrorStopsTheCopy) {
  MemLayer s("s", 16 * kMiB, false);
  s.put_pattern(0, 16 * kMiB, 1);
  MemLayer d("d", 16 * kMiB, true);
  d.fail_write_at = 5 * kMiB;
  auto r = run({&s}, d);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "error while writing at byte 4194304: injected write error");
  EXPECT_EQ(d.log.back().off, 4 * kMiB);
}

TEST(ConvertEngine, TargetTooSmall) {
  MemLayer s("s", kMiB, false);
  MemLayer d("d", kMiB - 512, true);
  EXPECT_FALSE(run({&s}, d));
}

TEST(ConvertEngine, ProgressIsMonotonicAndEndsAtHundred) {
  MemLayer s("s", 10 * kMiB, false);
  s.put_pattern(0, 3 * kMiB, 1);
  MemLayer d("d", 10 * kMiB, true);
  std::vector<double> seen;
  ConvertOptions o;
  o.progress = [&](double p) { seen.push_back(p); };
  ASSERT_TRUE(run({&s}, d, o));
  // qemu-img's steps: one 2 MiB request, then the 1 MiB rest.
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_NEAR(seen[0], 66.67, 0.01);
  EXPECT_EQ(seen[1], 100.0);
}

TEST(ConvertEngine, EmptySources) {
  MemLayer s("s", 0, false);
  MemLayer d("d", 0, true);
  EXPECT_TRUE(run({&s}, d));
}

}  // namespace
}  // namespace dk::fmt
