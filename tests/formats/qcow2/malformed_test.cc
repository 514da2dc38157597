// Hostile images: every problem is a clean error, never a crash or a hang.
#include <fcntl.h>

#include "formats/core/endian.h"
#include "tests/formats/qcow2/helpers.h"

namespace dk::fmt::qcow2test {
namespace {

void poke(const std::string& path, uint64_t off, std::vector<uint8_t> bytes) {
  int fd = ::open(path.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::pwrite(fd, bytes.data(), bytes.size(), off), static_cast<ssize_t>(bytes.size()));
  ::close(fd);
}

std::vector<uint8_t> be64(uint64_t v) {
  std::vector<uint8_t> b(8);
  store_be64(b.data(), v);
  return b;
}
std::vector<uint8_t> be32(uint32_t v) {
  std::vector<uint8_t> b(4);
  store_be32(b.data(), v);
  return b;
}

Result<std::unique_ptr<Layer>> try_open(const std::string& p, bool w = false) {
  OpenOptions o;
  o.writable = w;
  return kQcow2Driver.open(p, o);
}

// Opens and reads everything; returns the first error message ("" when fine).
std::string open_and_read(const std::string& p) {
  auto l = try_open(p);
  if (!l) return l.error().message;
  std::vector<std::byte> buf((*l)->size() > (64u << 20) ? 0 : (*l)->size());
  auto r = (*l)->read(0, buf);
  if (!r) return r.error().message;
  for (uint64_t off = 0; off < (*l)->size();) {
    auto e = (*l)->block_status(off, (*l)->size() - off);
    if (!e) return e.error().message;
    off += e->length;
  }
  return "";
}

class Qcow2Malformed : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_qemu()) GTEST_SKIP() << "qemu-img not installed";
    img = dir / "m.qcow2";
    ASSERT_EQ(sh("qemu-img create -q -f qcow2 " + img + " 8M"), 0);
    ASSERT_EQ(sh("qemu-io -c 'write -P 0x11 0 64k' " + img + " >/dev/null"), 0);
    // Layout: header 0, refcount table 0x10000, block 0x20000, L1 0x30000, L2 0x40000, data 0x50000.
  }
  TempDir dir;
  std::string img;
};

TEST_F(Qcow2Malformed, L1BeyondEof) {
  poke(img, 40, be64(0x100000000ull));
  EXPECT_NE(open_and_read(img).find("beyond the end"), std::string::npos) << open_and_read(img);
}

TEST_F(Qcow2Malformed, L2EntryBeyondEof) {
  poke(img, 0x40000, be64(0x8000000010000000ull));
  EXPECT_NE(open_and_read(img).find("beyond the end"), std::string::npos) << open_and_read(img);
}

TEST_F(Qcow2Malformed, L2TableBeyondEof) {
  poke(img, 0x30000, be64(0x8000000010000000ull));
  EXPECT_NE(open_and_read(img).find("beyond the end"), std::string::npos) << open_and_read(img);
}

TEST_F(Qcow2Malformed, AbsurdSizes) {
  poke(img, 24, be64(~0ull));
  EXPECT_NE(open_and_read(img), "");
  poke(img, 24, be64(1ull << 40));
  EXPECT_NE(open_and_read(img).find("L1 table is too small"), std::string::npos);
  poke(img, 24, be64(8 << 20));
  poke(img, 36, be32(0xffffffff));
  EXPECT_NE(open_and_read(img).find("too large"), std::string::npos);
  poke(img, 36, be32(1));
  poke(img, 20, be32(30));
  EXPECT_NE(open_and_read(img).find("cluster size"), std::string::npos);
  poke(img, 20, be32(16));
  poke(img, 56, be32(0x10000000));
  EXPECT_NE(open_and_read(img).find("too large"), std::string::npos);
}

TEST_F(Qcow2Malformed, RefcountTableOverlapsHeader) {
  poke(img, 48, be64(0));
  EXPECT_NE(open_and_read(img).find("overlaps the header"), std::string::npos);
}

TEST_F(Qcow2Malformed, CompressedDescriptorOutOfRange) {
  poke(img, 0x40000, be64(0x4000000000000000ull | 0x3fffffffffffull));
  EXPECT_NE(open_and_read(img).find("compressed"), std::string::npos) << open_and_read(img);
  poke(img, 0x40000, be64(0x4000000000000000ull | 0x100));
  EXPECT_NE(open_and_read(img), "");
}

TEST_F(Qcow2Malformed, Truncated) {
  ASSERT_EQ(::truncate(img.c_str(), 100), 0);
  EXPECT_NE(open_and_read(img), "");
  ASSERT_EQ(::truncate(img.c_str(), 50), 0);
  EXPECT_NE(open_and_read(img), "");
  ASSERT_EQ(::truncate(img.c_str(), 0), 0);
  EXPECT_NE(open_and_read(img), "");
}

TEST_F(Qcow2Malformed, TruncatedBeforeTables) {
  ASSERT_EQ(::truncate(img.c_str(), 0x30004), 0);
  EXPECT_NE(open_and_read(img), "");
}

TEST_F(Qcow2Malformed, HugeSnapshotCount) {
  poke(img, 60, be32(0x7fffffff));
  poke(img, 64, be64(0x10000));
  EXPECT_NE(open_and_read(img).find("too many snapshots"), std::string::npos) << open_and_read(img);
  poke(img, 60, be32(1000));
  poke(img, 64, be64(0x50000));  // a data cluster full of 0x11: absurd records
  EXPECT_NE(open_and_read(img), "");
}

TEST_F(Qcow2Malformed, UnknownIncompatibleFeature) {
  poke(img, 72, be64(1ull << 20));
  std::string e = open_and_read(img);
  EXPECT_NE(e.find("Unsupported qcow2 feature(s)"), std::string::npos) << e;
  EXPECT_NE(e.find("1048576"), std::string::npos) << e;
}

TEST_F(Qcow2Malformed, CorruptBitRefusesWrite) {
  poke(img, 72, be64(2));
  EXPECT_EQ(open_and_read(img), "");
  auto w = try_open(img, true);
  ASSERT_FALSE(w);
  EXPECT_NE(w.error().message.find("corrupt"), std::string::npos);
}

TEST_F(Qcow2Malformed, RandomCorruptionNeverCrashes) {
  auto orig = read_file(img);
  std::mt19937 rng(42);
  for (int i = 0; i < 150; ++i) {
    auto copy = orig;
    int flips = 1 + rng() % 8;
    for (int k = 0; k < flips; ++k) {
      size_t pos = rng() % 5 * 0x10000 + rng() % 256;
      if (rng() % 3 == 0) pos = rng() % 112;
      if (pos < copy.size()) copy[pos] = static_cast<std::byte>(rng());
    }
    std::string p = dir / "fuzz.qcow2";
    std::ofstream(p, std::ios::binary | std::ios::trunc).write(reinterpret_cast<char*>(copy.data()), copy.size());
    (void)open_and_read(p);
  }
}

}  // namespace
}  // namespace dk::fmt::qcow2test
