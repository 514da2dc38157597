// Backing chains: name resolution, chain-wide block status (against mocks
// and, once a qcow2 driver can open images, against `qemu-img map`), depth
// cap and loop detection.
#include <gtest/gtest.h>

#include <fstream>

#include "formats/chain.h"
#include "formats/raw/raw.h"
#include "tests/formats/mock_layer.h"
#include "tests/formats/raw/test_support.h"

namespace dk::fmt {
namespace {

using testing::have_program;
using testing::MockLayer;
using testing::our_map;
using testing::qemu_map;
using testing::run;
using testing::TempDir;
using A = MockLayer::Alloc;

TEST(Chain, ResolveBackingPath) {
  EXPECT_EQ(resolve_backing_path("a.qcow2", "b.qcow2"), "b.qcow2");
  EXPECT_EQ(resolve_backing_path("dir/a.qcow2", "b.qcow2"), "dir/b.qcow2");
  EXPECT_EQ(resolve_backing_path("/x/y/a.qcow2", "../b.qcow2"), "/x/y/../b.qcow2");
  EXPECT_EQ(resolve_backing_path("/x/y/a.qcow2", "/abs/b.qcow2"), "/abs/b.qcow2");
  EXPECT_EQ(resolve_backing_path("/x/a.qcow2", "sub/b.qcow2"), "/x/sub/b.qcow2");
  EXPECT_EQ(resolve_backing_path("/x/a.qcow2", "json:{\"file\":{}}"), "json:{\"file\":{}}");
  EXPECT_EQ(resolve_backing_path("/x/a.qcow2", "nbd://host/exp"), "nbd://host/exp");
  EXPECT_EQ(resolve_backing_path("/x/a.qcow2", ""), "");
  // A colon after a slash is part of a path, not a protocol.
  EXPECT_EQ(resolve_backing_path("/x/a.qcow2", "d/b:c"), "/x/d/b:c");
}

// top: [0,4K) data, [4K,8K) unallocated, [8K,12K) zero, [12K,16K) unallocated
// base (8 KiB, shorter): [0,2K) unallocated, [2K, 8K) data
std::unique_ptr<MockLayer> make_chain() {
  auto top = std::make_unique<MockLayer>("top", 16384);
  top->set_alloc(0, 4096, A::kData, 1);
  top->set_alloc(8192, 4096, A::kZero);
  auto base = std::make_unique<MockLayer>("base", 8192, false);
  base->set_alloc(2048, 6144, A::kData, 2);
  top->set_backing(std::move(base));
  return top;
}

TEST(Chain, BlockStatusWalksDown) {
  auto top = make_chain();
  auto e = *chain_block_status(*top, 0, 16384);
  EXPECT_EQ(e.length, 4096u);
  EXPECT_EQ(e.depth, 0);
  EXPECT_TRUE(e.present && e.data && !e.zero);
  EXPECT_EQ(e.offset, 0u);
  EXPECT_EQ(e.file, "top");

  // Unallocated in top: the base answers at depth 1.
  e = *chain_block_status(*top, 4096, 12288);
  EXPECT_EQ(e.start, 4096u);
  EXPECT_EQ(e.length, 4096u);  // [4K, 8K) is data in the base
  EXPECT_EQ(e.depth, 1);
  EXPECT_TRUE(e.present && e.data);
  EXPECT_EQ(e.file, "base");

  e = *chain_block_status(*top, 8192, 8192);
  EXPECT_EQ(e.length, 4096u);
  EXPECT_EQ(e.depth, 0);
  EXPECT_TRUE(e.present && e.zero && !e.data);
  EXPECT_FALSE(e.offset);

  // Past the end of the shorter backing file: zero, not present, at depth 0.
  e = *chain_block_status(*top, 12288, 4096);
  EXPECT_EQ(e.length, 4096u);
  EXPECT_EQ(e.depth, 0);
  EXPECT_TRUE(!e.present && e.zero && !e.data);
}

TEST(Chain, BlockStatusBottomUnallocatedIsZero) {
  auto top = std::make_unique<MockLayer>("top", 8192);
  auto base = std::make_unique<MockLayer>("base", 8192, false);
  base->set_alloc(4096, 4096, A::kData, 3);
  top->set_backing(std::move(base));
  auto e = *chain_block_status(*top, 0, 8192);
  EXPECT_EQ(e.length, 4096u);
  EXPECT_EQ(e.depth, 1);
  EXPECT_TRUE(!e.present && e.zero && !e.data);
  // The walk below is clamped to the backing layer's request.
  auto top2 = std::make_unique<MockLayer>("top", 8192);
  auto base2 = std::make_unique<MockLayer>("base", 6000, false);
  top2->set_backing(std::move(base2));
  e = *chain_block_status(*top2, 0, 8192);
  EXPECT_EQ(e.length, 6000u);
  EXPECT_EQ(e.depth, 1);
  e = *chain_block_status(*top2, 6000, 2192);
  EXPECT_EQ(e.depth, 0);
  EXPECT_TRUE(e.zero && !e.present);
}

TEST(Chain, ReadsPastShorterBackingAreZero) {
  auto top = make_chain();
  std::vector<std::byte> b(16384);
  ASSERT_TRUE(top->read(0, b));
  EXPECT_EQ(b[0], std::byte{1});
  EXPECT_EQ(b[4096], std::byte{2});
  EXPECT_EQ(b[8192], std::byte{0});
  for (size_t i = 12288; i < 16384; i++) ASSERT_EQ(b[i], std::byte{0});
}

TEST(Chain, BlockStatusErrorsPropagate) {
  auto top = make_chain();
  auto r = chain_block_status(*top, 16384, 1);
  EXPECT_FALSE(r);
}

TEST(Chain, OpenRawHasNoBacking) {
  TempDir t;
  std::string p = t.path("r.img");
  CreateSpec spec;
  spec.size = 65536;
  ASSERT_TRUE(create_raw(p, spec));
  ChainOptions o;
  auto l = open_chain(p, o);
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_EQ((*l)->backing(), nullptr);
  auto missing = open_chain(t.path("nope.img"), o);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("nope.img"), std::string::npos);
  o.format = "bogus";
  EXPECT_FALSE(open_chain(p, o));
}

// ---- Real chains made by qemu-img; active once our qcow2 driver opens them ----

class QcowChain : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_program("qemu-img")) GTEST_SKIP() << "qemu-img missing";
    std::string probe = m_dir.path("probe.qcow2");
    make("qemu-img create -q -f qcow2 '" + probe + "' 1M");
    auto l = open_image(probe, "qcow2", {});
    if (!l) GTEST_SKIP() << "qcow2 driver cannot open images yet: " << l.error().message;
  }
  void make(const std::string& cmd) {
    int st = 0;
    run(cmd + " >/dev/null 2>&1", &st);
    ASSERT_EQ(st, 0) << cmd;
  }
  TempDir m_dir;
};

TEST_F(QcowChain, RelativeBackingAndMapMatchQemu) {
  const std::string d = m_dir.dir();
  make("mkdir -p '" + d + "/sub' && cd '" + d + "/sub' && qemu-img create -q -f raw base.raw 4M"
       " && qemu-io -f raw -c 'write -P 1 0 64k' -c 'write -P 2 3M 64k' base.raw"
       " && qemu-img create -q -f qcow2 -b base.raw -F raw mid.qcow2 3M"
       " && qemu-io -f qcow2 -c 'write -P 3 64k 64k' -c 'write -z 1M 64k' mid.qcow2"
       " && qemu-img create -q -f qcow2 -b mid.qcow2 -F qcow2 top.qcow2 5M"
       " && qemu-io -f qcow2 -c 'write -P 4 2M 4k' top.qcow2");
  // Opened from another directory: backing names resolve against sub/.
  auto l = open_chain(d + "/sub/top.qcow2", {});
  ASSERT_TRUE(l) << l.error().message;
  ASSERT_NE((*l)->backing(), nullptr);
  ASSERT_NE((*l)->backing()->backing(), nullptr);
  EXPECT_EQ(our_map(**l), qemu_map(d + "/sub/top.qcow2", "qcow2"));
  // Past mid's 3 MiB end: base's data at 3M is hidden and reads zero.
  std::vector<std::byte> b(4096);
  ASSERT_TRUE((*l)->read(3 << 20, b));
  for (auto c : b) ASSERT_EQ(c, std::byte{0});
  ASSERT_TRUE((*l)->read(0, b));
  EXPECT_EQ(b[0], std::byte{1});
}

TEST_F(QcowChain, MissingBackingFileIsAClearError) {
  const std::string d = m_dir.dir();
  make("cd '" + d + "' && qemu-img create -q -f raw gone.raw 1M"
       " && qemu-img create -q -f qcow2 -b gone.raw -F raw o.qcow2 && rm gone.raw");
  auto l = open_chain(d + "/o.qcow2", {});
  ASSERT_FALSE(l);
  EXPECT_NE(l.error().message.find("could not open backing file 'gone.raw'"), std::string::npos)
      << l.error().message;
  ChainOptions nb;
  nb.no_backing = true;
  EXPECT_TRUE(open_chain(d + "/o.qcow2", nb));
}

TEST_F(QcowChain, BackingProbedAsRawWarns) {
  const std::string d = m_dir.dir();
  make("cd '" + d + "' && qemu-img create -q -f raw base.raw 1M"
       " && qemu-img create -q -f qcow2 -b base.raw -F raw o.qcow2");
  // Drop the backing-format header extension (0xE2792ACA) so the name stands alone.
  {
    std::fstream f(d + "/o.qcow2", std::ios::in | std::ios::out | std::ios::binary);
    std::string head(4096, '\0');
    f.read(head.data(), head.size());
    size_t at = head.find("\xE2\x79\x2A\xCA");
    ASSERT_NE(at, std::string::npos);
    f.clear();
    f.seekp(static_cast<std::streamoff>(at));
    f.write("\0\0\0\0", 4);
  }
  std::vector<std::string> warnings;
  ChainOptions o;
  o.warn = [&](const std::string& w) { warnings.push_back(w); };
  auto l = open_chain(d + "/o.qcow2", o);
  ASSERT_TRUE(l) << l.error().message;
  ASSERT_NE((*l)->backing(), nullptr);
  EXPECT_EQ((*l)->backing()->format_name(), "raw");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("probed as raw"), std::string::npos);
  // -F names it: no warning.
  warnings.clear();
  o.backing_format = "raw";
  EXPECT_TRUE(open_chain(d + "/o.qcow2", o));
  EXPECT_TRUE(warnings.empty());
}

TEST_F(QcowChain, LoopsAreRefused) {
  const std::string d = m_dir.dir();
  make("cd '" + d + "' && qemu-img create -q -f qcow2 a.qcow2 1M"
       " && qemu-img create -q -f qcow2 -b a.qcow2 -F qcow2 b.qcow2"
       " && qemu-img rebase -u -f qcow2 -b b.qcow2 -F qcow2 a.qcow2");
  auto l = open_chain(d + "/a.qcow2", {});
  ASSERT_FALSE(l);
  EXPECT_NE(l.error().message.find("loop"), std::string::npos) << l.error().message;
}

TEST_F(QcowChain, DepthIsCapped) {
  const std::string d = m_dir.dir();
  // 65 files: i0 (no backing) <- i1 <- ... <- i64.
  std::string cmd = "cd '" + d + "' && qemu-img create -q -f qcow2 i0.qcow2 1M";
  for (int i = 1; i <= kMaxChainDepth; i++)
    cmd += " && qemu-img create -q -f qcow2 -u -b i" + std::to_string(i - 1) + ".qcow2 -F qcow2 i" +
           std::to_string(i) + ".qcow2 1M";
  make(cmd);
  auto ok = open_chain(d + "/i63.qcow2", {});  // 64 files
  EXPECT_TRUE(ok) << ok.error().message;
  auto deep = open_chain(d + "/i64.qcow2", {});  // 65 files
  ASSERT_FALSE(deep);
  EXPECT_NE(deep.error().message.find("deeper than 64"), std::string::npos) << deep.error().message;
}

}  // namespace
}  // namespace dk::fmt
