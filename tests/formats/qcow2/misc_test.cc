// Header handling, dirty-image repair, resizing, backing changes, probing.
#include <fcntl.h>

#include <chrono>

#include "formats/core/endian.h"
#include "formats/qcow2/header.h"
#include "tests/formats/qcow2/helpers.h"

namespace dk::fmt::qcow2test {
namespace {

std::string err_of(const Result<void>& r) { return r ? std::string() : r.error().message; }

void poke(const std::string& path, uint64_t off, const void* p, size_t n) {
  int fd = ::open(path.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::pwrite(fd, p, n, off), static_cast<ssize_t>(n));
  ::close(fd);
}

TEST(Qcow2Header, RoundTrip) {
  qcow2::HeaderInfo info;
  info.h.size = 12345 * 512;
  info.h.l1_size = 1;
  info.h.l1_table_offset = 0x30000;
  info.h.refcount_table_offset = 0x10000;
  info.h.refcount_table_clusters = 1;
  info.h.compatible_features = qcow2::kCompatLazyRefcounts;
  info.h.incompatible_features = qcow2::kIncompatCompression;
  info.h.compression_type = qcow2::kCompressionZstd;
  info.backing_file = "base.img";
  info.backing_format = "raw";
  info.unknown.push_back(qcow2::Extension{0x12345678, {1, 2, 3}});
  auto buf = qcow2::serialize_header(info, "x");
  ASSERT_TRUE(buf);
  auto back = qcow2::parse_header(*buf, "x");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->h.size, info.h.size);
  EXPECT_EQ(back->h.compression_type, qcow2::kCompressionZstd);
  EXPECT_EQ(back->backing_file, "base.img");
  EXPECT_EQ(back->backing_format, "raw");
  ASSERT_EQ(back->unknown.size(), 1u);
  EXPECT_EQ(back->unknown[0].type, 0x12345678u);
  EXPECT_EQ(back->unknown[0].data, (std::vector<uint8_t>{1, 2, 3}));
  EXPECT_EQ(back->features.size(), 8u);
  EXPECT_EQ(back->h.header_length, 112u);
}

TEST(Qcow2Probe, Magic) {
  std::vector<std::byte> h(512);
  store_be32(h.data(), qcow2::kMagic);
  store_be32(h.data() + 4, 3);
  EXPECT_EQ(kQcow2Driver.probe(h, "x"), 100);
  store_be32(h.data() + 4, 2);
  EXPECT_EQ(kQcow2Driver.probe(h, "x"), 100);
  // Like qemu-img: the magic alone claims the file; open rejects the version.
  store_be32(h.data() + 4, 4);
  EXPECT_EQ(kQcow2Driver.probe(h, "x"), 100);
  store_be32(h.data(), 0x514649fa);
  EXPECT_EQ(kQcow2Driver.probe(h, "x"), 0);
}

TEST(Qcow2Repair, DirtyLazyImageIsRepairedOnWritableOpen) {
  REQUIRE_QEMU();
  TempDir d;
  std::string img = d / "lz.qcow2";
  ASSERT_EQ(sh("qemu-img create -q -f qcow2 -o lazy_refcounts=on " + img + " 8M"), 0);
  sh("qemu-io -c 'write -P 0x12 0 1M' -c 'write -P 0x13 3M 100k' -c abort " + img + " >/dev/null 2>&1");
  ASSERT_FALSE(qemu_check_clean(img));
  auto want = qemu_raw(img, d.path());
  {
    auto ro = open_q(img);
    ASSERT_TRUE(ro);
    EXPECT_TRUE(ro->dirty());
    EXPECT_SAME_BYTES(read_all(*ro), want);
  }
  {
    auto l = open_q(img, true);
    ASSERT_TRUE(l);
    EXPECT_FALSE(l->dirty());
    auto data = pattern(200000, 3);
    ASSERT_TRUE(l->write(5000000, data));
    std::memcpy(want.data() + 5000000, data.data(), data.size());
  }
  EXPECT_TRUE(qemu_check_clean(img)) << sh_out("qemu-img check " + img);
  EXPECT_SAME_BYTES(qemu_raw(img, d.path()), want);
}

TEST(Qcow2Features, AutoclearClearedAndNamesReported) {
  REQUIRE_QEMU();
  TempDir d;
  std::string img = d / "f.qcow2";
  ASSERT_EQ(sh("qemu-img create -q -f qcow2 " + img + " 1M"), 0);
  uint8_t b[8];
  store_be64(b, 1ull << 5);
  poke(img, 88, b, 8);  // unknown autoclear bit
  { auto l = open_q(img, true); }
  uint8_t got[8];
  int fd = ::open(img.c_str(), O_RDONLY);
  ASSERT_EQ(::pread(fd, got, 8, 88), 8);
  ::close(fd);
  EXPECT_EQ(load_be64(got), 0u);
  // Unknown incompatible bit named by the feature table.
  store_be64(b, 1ull << 9);
  poke(img, 72, b, 8);
  // Rename the "dirty bit" entry (type 0, bit 0 at 0x70+8) into bit 9's name.
  uint8_t entry[48] = {0, 9};
  std::memcpy(entry + 2, "shiny feature", 13);
  poke(img, 0x78, entry, 48);
  OpenOptions o;
  auto r = kQcow2Driver.open(img, o);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("shiny feature"), std::string::npos) << r.error().message;
}

TEST(Qcow2Backing, SetBackingFileKeepsUnknownExtensions) {
  REQUIRE_QEMU();
  TempDir d;
  std::string img = d / "b.qcow2";
  ASSERT_EQ(sh("qemu-img create -q -f qcow2 " + img + " 1M"), 0);
  // Add an unknown extension by rewriting the header with our serializer.
  auto head = read_file(img);
  head.resize(65536);
  auto info = qcow2::parse_header(head, img);
  ASSERT_TRUE(info);
  info->unknown.push_back(qcow2::Extension{0xabcdef01, {9, 8, 7, 6, 5}});
  auto buf = qcow2::serialize_header(*info, img);
  ASSERT_TRUE(buf);
  poke(img, 0, buf->data(), buf->size());
  {
    auto l = open_q(img, true);
    ASSERT_TRUE(l);
    auto r = l->set_backing_file("some/base.raw", "raw");
    ASSERT_TRUE(r) << err_of(r);
  }
  auto j = nlohmann::json::parse(sh_out("qemu-img info -U --output=json " + img));
  EXPECT_EQ(j["backing-filename"], "some/base.raw");
  EXPECT_EQ(j["backing-filename-format"], "raw");
  auto head2 = read_file(img);
  head2.resize(65536);
  auto info2 = qcow2::parse_header(head2, img);
  ASSERT_TRUE(info2);
  ASSERT_EQ(info2->unknown.size(), 1u);
  EXPECT_EQ(info2->unknown[0].data, (std::vector<uint8_t>{9, 8, 7, 6, 5}));
  ASSERT_EQ(sh("mkdir -p " + d / "some" + " && truncate -s 1M " + d / "some/base.raw"), 0);
  EXPECT_TRUE(qemu_check_clean(img)) << sh_out("qemu-img check " + img);
}

TEST(Qcow2Resize, GrowAndShrink) {
  REQUIRE_QEMU();
  TempDir d;
  std::string img = d / "r.qcow2";
  ASSERT_EQ(sh("qemu-img create -q -f qcow2 -o cluster_size=512 " + img + " 1M"), 0);
  auto data = pattern(1 << 20, 5);
  {
    auto l = open_q(img, true);
    ASSERT_TRUE(l);
    ASSERT_TRUE(l->write(0, data));
    auto r = l->truncate(64 << 20, false);  // needs a bigger L1 and refcount table
    ASSERT_TRUE(r) << err_of(r);
    auto more = pattern(1 << 20, 6);
    ASSERT_TRUE(l->write(60 << 20, more));
  }
  EXPECT_TRUE(qemu_check_clean(img)) << sh_out("qemu-img check " + img);
  auto raw = qemu_raw(img, d.path());
  ASSERT_EQ(raw.size(), 64u << 20);
  EXPECT_TRUE(std::equal(data.begin(), data.end(), raw.begin()));
  {
    auto l = open_q(img, true);
    ASSERT_TRUE(l);
    EXPECT_FALSE(l->truncate(512 << 10, false));
    auto r = l->truncate(512 << 10, true);
    ASSERT_TRUE(r) << err_of(r);
  }
  EXPECT_TRUE(qemu_check_clean(img)) << sh_out("qemu-img check " + img);
  raw = qemu_raw(img, d.path());
  ASSERT_EQ(raw.size(), 512u << 10);
  EXPECT_TRUE(std::equal(raw.begin(), raw.end(), data.begin()));
}

TEST(Qcow2Snapshot, OpenById) {
  REQUIRE_QEMU();
  TempDir d;
  std::string img = d / "s.qcow2";
  ASSERT_EQ(sh("qemu-img create -q -f qcow2 " + img + " 1M"), 0);
  ASSERT_EQ(sh("qemu-io -c 'write -P 1 0 1M' " + img + " >/dev/null && qemu-img snapshot -c first " + img), 0);
  ASSERT_EQ(sh("qemu-img resize -q " + img + " 2M 2>/dev/null; qemu-io -c 'write -P 2 0 1M' " + img + " >/dev/null && qemu-img snapshot -c second " + img), 0);
  auto s = open_q(img, false, "1");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->size(), 1u << 20);
  EXPECT_SAME_BYTES(read_all(*s), std::vector<std::byte>(1 << 20, std::byte{1}));
  auto s2 = open_q(img, false, "second");
  ASSERT_TRUE(s2);
  auto v = read_all(*s2);
  EXPECT_EQ(v[0], std::byte{2});
  OpenOptions bad;
  bad.snapshot = "nope";
  EXPECT_FALSE(kQcow2Driver.open(img, bad));
  auto snaps = open_q(img)->snapshots();
  ASSERT_EQ(snaps.size(), 2u);
  EXPECT_EQ(snaps[1].name, "second");
  EXPECT_EQ(snaps[1].id, "2");
}

TEST(Qcow2Perf, SequentialWriteAndRead) {
  REQUIRE_QEMU();
  TempDir d;
  std::string img = d / "p.qcow2";
  const uint64_t size = 256ull << 20;
  CreateSpec s;
  s.size = size;
  ASSERT_TRUE(kQcow2Driver.create(img, s));
  auto buf = pattern(8 << 20, 1);
  auto t0 = std::chrono::steady_clock::now();
  {
    auto l = open_q(img, true);
    ASSERT_TRUE(l);
    for (uint64_t off = 0; off < size; off += buf.size()) ASSERT_TRUE(l->write(off, buf));
    ASSERT_TRUE(l->flush());
  }
  auto t1 = std::chrono::steady_clock::now();
  {
    auto l = open_q(img);
    ASSERT_TRUE(l);
    std::vector<std::byte> out(8 << 20);
    for (uint64_t off = 0; off < size; off += out.size()) ASSERT_TRUE(l->read(off, out));
    EXPECT_SAME_BYTES(out, buf);
  }
  auto t2 = std::chrono::steady_clock::now();
  auto ms = [](auto a, auto b) { return std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count(); };
  std::printf("qcow2 sequential 256 MiB: write %lld ms, read %lld ms\n", (long long)ms(t0, t1), (long long)ms(t1, t2));
  EXPECT_TRUE(qemu_check_clean(img));
}

}  // namespace
}  // namespace dk::fmt::qcow2test

namespace dk::fmt::qcow2test {
namespace {

TEST(Qcow2Direct, WriteReadWithODirect) {
  REQUIRE_QEMU();
  TempDir d;
  std::string img = d / "dio.qcow2";
  ASSERT_EQ(sh("qemu-img create -q -f qcow2 " + img + " 4M"), 0);
  OpenOptions o;
  o.writable = true;
  o.direct = true;
  auto r = kQcow2Driver.open(img, o);
  if (!r && r.error().code == EINVAL && r.error().message.find("could not open") != std::string::npos)
    GTEST_SKIP() << "O_DIRECT unsupported here";
  ASSERT_TRUE(r) << r.error().message;
  auto data = pattern(300001, 4);
  ASSERT_TRUE((*r)->write(12345, data));
  std::vector<std::byte> back(data.size());
  ASSERT_TRUE((*r)->read(12345, back));
  EXPECT_SAME_BYTES(back, data);
  r->reset();
  EXPECT_TRUE(qemu_check_clean(img)) << sh_out("qemu-img check " + img);
  auto raw = qemu_raw(img, d.path());
  EXPECT_TRUE(std::equal(data.begin(), data.end(), raw.begin() + 12345));
}

}  // namespace
}  // namespace dk::fmt::qcow2test

namespace dk::fmt::qcow2test {
namespace {

// Small clusters and big sizes need many refcount blocks and a bigger
// refcount table at create time.
TEST(Qcow2Create, BigImagesWithSmallClusters) {
  REQUIRE_QEMU();
  const std::pair<std::map<std::string, std::string>, uint64_t> cases[] = {
      {{{"cluster_size", "512"}}, 100ull << 30},
      {{{"cluster_size", "512"}, {"refcount_bits", "1"}}, 20ull << 30},
      {{{"cluster_size", "2M"}}, 4ull << 40},
  };
  for (const auto& [opts, size] : cases) {
    TempDir d;
    std::string img = d / "big.qcow2";
    CreateSpec s;
    s.size = size;
    s.options = opts;
    auto r = kQcow2Driver.create(img, s);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_TRUE(qemu_check_clean(img)) << sh_out("qemu-img check " + img);
    auto l = open_q(img, true);
    ASSERT_TRUE(l);
    auto data = pattern(100000, 2);
    ASSERT_TRUE(l->write(size - 100000, data));
    l.reset();
    EXPECT_TRUE(qemu_check_clean(img)) << sh_out("qemu-img check " + img);
  }
}

}  // namespace
}  // namespace dk::fmt::qcow2test
