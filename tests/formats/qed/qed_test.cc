// QED driver tests: create/read/write round trips, need-check handling,
// crash-safe ordering, malformed headers, and qemu-img/qemu-io as oracle.
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "formats/chain.h"
#include "formats/core/endian.h"
#include "formats/core/file.h"
#include "formats/qed/qed.h"
#include "tests/formats/raw/test_support.h"

namespace dk::fmt {
namespace {

using testing::have_program;
using testing::run;
using testing::TempDir;

std::vector<std::byte> pattern(size_t n, uint8_t seed) {
  std::vector<std::byte> v(n);
  for (size_t i = 0; i < n; i++) v[i] = std::byte(static_cast<uint8_t>(seed + i * 7 + i / 251));
  return v;
}

Result<std::unique_ptr<Layer>> open_qed_file(const std::string& p, bool writable) {
  ChainOptions o;
  o.format = "qed";
  o.open.writable = writable;
  return open_chain(p, o);
}

void create(const std::string& p, uint64_t size, std::map<std::string, std::string> opts = {},
            std::string backing = "", std::string bfmt = "") {
  CreateSpec spec;
  spec.size = size;
  spec.options = std::move(opts);
  spec.backing_file = std::move(backing);
  spec.backing_format = std::move(bfmt);
  auto r = qed::create_qed(p, spec);
  ASSERT_TRUE(r) << r.error().message;
}

uint64_t header_u64(const std::string& p, size_t off) {
  File f = *File::open(p, O_RDONLY);
  std::byte b[8];
  EXPECT_TRUE(f.pread_exact(off, b));
  return load_le64(b);
}

void patch(const std::string& p, uint64_t off, const void* data, size_t n) {
  File f = *File::open(p, O_RDWR);
  ASSERT_TRUE(f.pwrite_all(off, std::span(static_cast<const std::byte*>(data), n)));
}

void patch_u32(const std::string& p, uint64_t off, uint32_t v) {
  uint8_t b[4];
  store_le32(b, v);
  patch(p, off, b, 4);
}

void patch_u64(const std::string& p, uint64_t off, uint64_t v) {
  uint8_t b[8];
  store_le64(b, v);
  patch(p, off, b, 8);
}

TEST(Qed, Probe) {
  TempDir t;
  create(t.path("a.qed"), 1 << 20);
  auto d = probe_file(t.path("a.qed"));
  ASSERT_TRUE(d);
  EXPECT_EQ((*d)->name, "qed");
}

TEST(Qed, CreateLayoutMatchesQemu) {
  TempDir t;
  std::string p = t.path("a.qed");
  create(p, 10 << 20, {}, "base.raw", "raw");
  EXPECT_EQ(std::filesystem::file_size(p), 5u * 65536);
  EXPECT_EQ(header_u64(p, 16), qed::kFeatureBackingFile | qed::kFeatureBackingFormatNoProbe);
  auto l = open_qed_file(p, false);
  // base.raw does not exist: opening the chain fails, the top alone works.
  EXPECT_FALSE(l);
  ChainOptions o;
  o.format = "qed";
  o.no_backing = true;
  auto top = open_chain(p, o);
  ASSERT_TRUE(top) << top.error().message;
  EXPECT_EQ((*top)->backing_filename(), "base.raw");
  EXPECT_EQ((*top)->backing_format(), "raw");
  EXPECT_EQ((*top)->size(), 10u << 20);
  EXPECT_EQ((*top)->cluster_size(), 65536u);
}

TEST(Qed, CreateRejectsBadGeometry) {
  TempDir t;
  CreateSpec s;
  s.size = 1 << 20;
  s.options = {{"cluster_size", "1000"}};
  auto r = qed::create_qed(t.path("a.qed"), s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "QED cluster size must be within range [4096, 67108864] and power of 2");
  s.options = {{"table_size", "3"}};
  EXPECT_FALSE(qed::create_qed(t.path("a.qed"), s));
  s.options = {{"cluster_size", "4096"}, {"table_size", "1"}};
  s.size = 1ull << 40;
  r = qed::create_qed(t.path("a.qed"), s);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("less than 1073741824 bytes"), std::string::npos);
}

TEST(Qed, WriteReadRoundTrip) {
  TempDir t;
  std::string p = t.path("a.qed");
  create(p, 64 << 20, {{"cluster_size", "4096"}});
  auto data = pattern(300000, 9);
  {
    auto l = open_qed_file(p, true);
    ASSERT_TRUE(l) << l.error().message;
    ASSERT_TRUE((*l)->write(12345, data));
    ASSERT_TRUE((*l)->write_zeroes(1 << 20, 1 << 20));
    ASSERT_TRUE((*l)->write(20 << 20, std::span(data).first(4096)));
    std::vector<std::byte> back(data.size());
    ASSERT_TRUE((*l)->read(12345, back));
    EXPECT_EQ(back, data);
    ASSERT_TRUE((*l)->flush());
    EXPECT_EQ(header_u64(p, 16) & qed::kFeatureNeedCheck, 0u);
  }
  auto l = open_qed_file(p, false);
  ASSERT_TRUE(l);
  std::vector<std::byte> back(data.size());
  ASSERT_TRUE((*l)->read(12345, back));
  EXPECT_EQ(back, data);
  std::vector<std::byte> head(12345);
  ASSERT_TRUE((*l)->read(0, head));
  EXPECT_TRUE(std::all_of(head.begin(), head.end(), [](std::byte b) { return b == std::byte{0}; }));
  auto st = (*l)->block_status(1 << 20, 1 << 20);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->flags, kStatusZero);
  EXPECT_EQ(st->length, 1u << 20);
  st = (*l)->block_status(30 << 20, 1 << 20);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->flags, 0u);
  st = (*l)->block_status(12288, 4096);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->flags, kStatusData | kStatusOffsetValid);
  if (have_program("qemu-img")) {
    int rc = 0;
    std::string out = run("qemu-img check -f qed '" + p + "' 2>&1", &rc);
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("No errors were found"), std::string::npos) << out;
  }
}

TEST(Qed, SequentialWritesAreContiguous) {
  TempDir t;
  std::string p = t.path("a.qed");
  create(p, 256 << 20);
  {
    auto l = open_qed_file(p, true);
    ASSERT_TRUE(l);
    auto data = pattern(4 << 20, 1);
    for (uint64_t off = 0; off < (64u << 20); off += data.size()) ASSERT_TRUE((*l)->write(off, data));
    ASSERT_TRUE((*l)->flush());
    auto st = (*l)->block_status(0, 64 << 20);
    ASSERT_TRUE(st);
    EXPECT_EQ(st->length, 64u << 20);  // one host-contiguous run
  }
  // header + L1 + one L2 table + 64 MiB of data: nothing wasted.
  EXPECT_EQ(std::filesystem::file_size(p), 65536u * 9 + (64u << 20));
}

// A copy of the file taken before flush is what a crash would leave: the
// need-check flag is set and nothing points at unwritten data.
TEST(Qed, CrashLeavesNeedCheckAndNoDanglingEntries) {
  TempDir t;
  std::string p = t.path("a.qed");
  std::string crash = t.path("crash.qed");
  create(p, 64 << 20);
  auto l = open_qed_file(p, true);
  ASSERT_TRUE(l);
  auto data = pattern(1 << 20, 5);
  ASSERT_TRUE((*l)->write(0, data));
  std::filesystem::copy_file(p, crash);
  EXPECT_NE(header_u64(crash, 16) & qed::kFeatureNeedCheck, 0u);
  {
    auto c = open_qed_file(crash, false);
    ASSERT_TRUE(c) << c.error().message;
    // Entries are not written yet: the range reads as unallocated.
    auto st = (*c)->block_status(0, 1 << 20);
    ASSERT_TRUE(st);
    EXPECT_EQ(st->flags, 0u);
  }
  if (have_program("qemu-img")) {
    // qemu-img sees at worst leaked clusters (exit 3), never corruption.
    int rc = 0;
    std::string out = run("qemu-img check -f qed '" + crash + "' 2>&1", &rc);
    EXPECT_TRUE(rc == 0 || rc == 3) << out;
  }
  {
    // A writable open runs the scan and clears the flag.
    auto c = open_qed_file(crash, true);
    ASSERT_TRUE(c) << c.error().message;
  }
  EXPECT_EQ(header_u64(crash, 16) & qed::kFeatureNeedCheck, 0u);
  ASSERT_TRUE((*l)->flush());
  std::vector<std::byte> back(data.size());
  ASSERT_TRUE((*l)->read(0, back));
  EXPECT_EQ(back, data);
}

TEST(Qed, NeedCheckScanFixesBadEntries) {
  TempDir t;
  std::string p = t.path("a.qed");
  create(p, 64 << 20);
  {
    auto l = open_qed_file(p, true);
    ASSERT_TRUE(l);
    ASSERT_TRUE((*l)->write(0, pattern(65536 * 2, 3)));
  }
  // The L2 table is at 0x50000 (after header and L1); corrupt entry 1.
  const uint64_t l1 = header_u64(p, 40);
  const uint64_t l2 = header_u64(p, l1);
  ASSERT_EQ(l2, 5u * 65536);
  patch_u64(p, l2 + 8, 0x7fff0000ull);
  {
    auto l = open_qed_file(p, false);
    ASSERT_TRUE(l);
    std::vector<std::byte> buf(65536);
    auto r = (*l)->read(65536, buf);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("invalid cluster offset"), std::string::npos);
  }
  patch_u64(p, 16, qed::kFeatureNeedCheck);
  {
    auto l = open_qed_file(p, true);
    ASSERT_TRUE(l) << l.error().message;
    std::vector<std::byte> buf(65536);
    ASSERT_TRUE((*l)->read(65536, buf));  // entry cleared: reads as zero
  }
  EXPECT_EQ(header_u64(p, 16), 0u);
  EXPECT_EQ(header_u64(p, l2 + 8), 0u);
}

TEST(Qed, MalformedHeadersGiveErrors) {
  TempDir t;
  std::string p = t.path("a.qed");
  struct Case {
    const char* what;
    uint64_t off;
    uint64_t value;
    int width;
  } cases[] = {
      {"magic", 0, 0x12345678, 4},
      {"cluster size", 4, 1000, 4},
      {"cluster size", 4, 1u << 30, 4},
      {"table size", 8, 3, 4},
      {"table size", 8, 32, 4},
      {"header size", 12, 0, 4},
      {"features", 16, 0x100, 8},
      {"L1 table", 40, 1ull << 40, 8},
      {"L1 table", 40, 100, 8},
      {"L1 table", 40, 0, 8},
      {"image size", 48, 1000, 8},
      {"image size", 48, UINT64_MAX - 511, 8},
      {"backing name", 16, qed::kFeatureBackingFile, 8},
  };
  for (const Case& c : cases) {
    create(p, 1 << 20);
    if (c.width == 4) patch_u32(p, c.off, static_cast<uint32_t>(c.value));
    else patch_u64(p, c.off, c.value);
    if (std::string(c.what) == "backing name") {
      patch_u32(p, 56, 65000);
      patch_u32(p, 60, 1000);
    }
    OpenOptions o;
    auto l = qed::open_qed(p, o);
    EXPECT_FALSE(l) << c.what;
    if (!l) {
      EXPECT_NE(l.error().message.find(p), std::string::npos) << l.error().message;
    }
  }
}

TEST(Qed, L1EntryOutOfRange) {
  TempDir t;
  std::string p = t.path("a.qed");
  create(p, 1 << 20);
  patch_u64(p, 65536, 1ull << 50);
  auto l = open_qed_file(p, false);
  ASSERT_TRUE(l);
  std::vector<std::byte> buf(512);
  EXPECT_FALSE((*l)->read(0, buf));
  EXPECT_FALSE((*l)->block_status(0, 512));
}

// More L2 tables than the cache holds (128 of 256 KiB): eviction writes
// dirty tables back in order, and everything reads back after reopening.
TEST(Qed, CacheEvictionKeepsWrites) {
  TempDir t;
  std::string p = t.path("a.qed");
  const uint64_t span = 2ull << 30;  // guest bytes per L2 table
  const int tables = 140;
  create(p, span * tables);
  {
    auto l = open_qed_file(p, true);
    ASSERT_TRUE(l);
    for (int i = 0; i < tables; i++) ASSERT_TRUE((*l)->write(i * span + 4096, pattern(512, i)));
    for (int i = 0; i < tables; i++) {
      std::vector<std::byte> b(512);
      ASSERT_TRUE((*l)->read(i * span + 4096, b));
      ASSERT_EQ(b, pattern(512, i)) << i;
    }
  }
  auto l = open_qed_file(p, false);
  ASSERT_TRUE(l);
  for (int i = 0; i < tables; i++) {
    std::vector<std::byte> b(512);
    ASSERT_TRUE((*l)->read(i * span + 4096, b));
    ASSERT_EQ(b, pattern(512, i)) << i;
  }
  if (have_program("qemu-img")) {
    int rc = 0;
    std::string out = run("qemu-img check -f qed '" + p + "' 2>&1", &rc);
    EXPECT_EQ(rc, 0) << out;
  }
}

// Zero clusters need a new L2 table and no data: the table must still be
// written whole (the file must not end inside it).
TEST(Qed, ZeroWriteIntoEmptyImage) {
  TempDir t;
  std::string p = t.path("a.qed");
  create(p, 64 << 20);
  {
    auto l = open_qed_file(p, true);
    ASSERT_TRUE(l);
    ASSERT_TRUE((*l)->write_zeroes(0, 1 << 20));
  }
  EXPECT_EQ(std::filesystem::file_size(p), 9u * 65536);
  auto l = open_qed_file(p, false);
  ASSERT_TRUE(l) << l.error().message;
  auto st = (*l)->block_status(0, 2 << 20);
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(st->flags, kStatusZero);
  EXPECT_EQ(st->length, 1u << 20);
  if (have_program("qemu-img")) {
    int rc = 0;
    std::string out = run("qemu-img check -f qed '" + p + "' 2>&1", &rc);
    EXPECT_EQ(rc, 0) << out;
  }
}

TEST(Qed, TruncateGrows) {
  TempDir t;
  std::string p = t.path("a.qed");
  create(p, 1 << 20);
  {
    auto l = open_qed_file(p, true);
    ASSERT_TRUE(l);
    EXPECT_FALSE((*l)->truncate(512 << 10, true));  // no shrinking
    EXPECT_FALSE((*l)->truncate((2 << 20) + 1, false));
    ASSERT_TRUE((*l)->truncate(3 << 20, false));
    EXPECT_EQ((*l)->size(), 3u << 20);
  }
  EXPECT_EQ(header_u64(p, 48), 3u << 20);
}

TEST(Qed, BackingChainReadsAndCopyOnWrite) {
  TempDir t;
  std::string base = t.path("base.raw");
  {
    std::ofstream f(base, std::ios::binary);
    auto d = pattern(1 << 20, 77);
    f.write(reinterpret_cast<const char*>(d.data()), d.size());
  }
  std::string p = t.path("top.qed");
  create(p, 2 << 20, {}, "base.raw", "raw");
  auto base_data = pattern(1 << 20, 77);
  {
    auto l = open_qed_file(p, true);
    ASSERT_TRUE(l) << l.error().message;
    ASSERT_TRUE((*l)->write(1000, pattern(10, 1)));
    ASSERT_TRUE((*l)->write_zeroes(131072, 65536));
    // A partial write into a zero cluster keeps the rest zero (QEMU 7.2
    // refills it from the backing file instead, which resurrects old data).
    ASSERT_TRUE((*l)->write(131072 + 100, pattern(10, 4)));
  }
  auto l = open_qed_file(p, false);
  ASSERT_TRUE(l);
  std::vector<std::byte> all(2 << 20);
  ASSERT_TRUE((*l)->read(0, all));
  auto expect = base_data;
  expect.resize(2 << 20);
  auto w = pattern(10, 1);
  std::copy(w.begin(), w.end(), expect.begin() + 1000);
  std::fill(expect.begin() + 131072, expect.begin() + 196608, std::byte{0});
  auto w2 = pattern(10, 4);
  std::copy(w2.begin(), w2.end(), expect.begin() + 131072 + 100);
  EXPECT_EQ(all, expect);
}

TEST(Qed, SetBackingFile) {
  TempDir t;
  std::string p = t.path("a.qed");
  create(p, 1 << 20);
  {
    auto l = open_qed_file(p, true);
    ASSERT_TRUE(l);
    ASSERT_TRUE((*l)->set_backing_file("b.raw", "raw"));
  }
  EXPECT_EQ(header_u64(p, 16), qed::kFeatureBackingFile | qed::kFeatureBackingFormatNoProbe);
  ChainOptions o;
  o.format = "qed";
  o.no_backing = true;
  auto l = open_chain(p, o);
  ASSERT_TRUE(l);
  EXPECT_EQ((*l)->backing_filename(), "b.raw");
}

TEST(Qed, QemuIoWritesIntoOurImage) {
  if (!have_program("qemu-io")) GTEST_SKIP() << "qemu-io not installed";
  TempDir t;
  std::string p = t.path("a.qed");
  create(p, 8 << 20);
  {
    auto l = open_qed_file(p, true);
    ASSERT_TRUE(l);
    ASSERT_TRUE((*l)->write(0, pattern(100000, 2)));
  }
  int rc = 0;
  run("qemu-io -f qed -c 'write -P 0xab 65536 131072' -c 'write -z 1M 64k' '" + p + "' >/dev/null 2>&1", &rc);
  ASSERT_EQ(rc, 0);
  auto l = open_qed_file(p, false);
  ASSERT_TRUE(l);
  std::vector<std::byte> buf(131072);
  ASSERT_TRUE((*l)->read(65536, buf));
  EXPECT_TRUE(std::all_of(buf.begin(), buf.end(), [](std::byte b) { return b == std::byte{0xab}; }));
  std::vector<std::byte> head(65536);
  ASSERT_TRUE((*l)->read(0, head));
  auto want = pattern(100000, 2);
  EXPECT_TRUE(std::equal(head.begin(), head.end(), want.begin()));
}

}  // namespace
}  // namespace dk::fmt
