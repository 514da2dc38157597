// Reading images made by qemu-img/qemu-io, compared with qemu-img convert.
#include "tests/formats/qcow2/helpers.h"

namespace dk::fmt::qcow2test {
namespace {

struct Case {
  const char* name;
  const char* create_opts;
  const char* io;  // qemu-io commands, ';' separated
};

void run_case(const Case& c) {
  TempDir d;
  std::string img = d / "t.qcow2";
  ASSERT_EQ(sh(std::string("qemu-img create -q -f qcow2 ") + c.create_opts + " '" + img + "' 8M"), 0);
  std::string io = c.io;
  size_t pos = 0;
  while (pos < io.size()) {
    size_t e = io.find(';', pos);
    if (e == std::string::npos) e = io.size();
    std::string cmd = io.substr(pos, e - pos);
    if (!cmd.empty()) {
      ASSERT_EQ(sh("qemu-io -f qcow2 -c '" + cmd + "' '" + img + "' >/dev/null"), 0) << cmd;
    }
    pos = e + 1;
  }
  auto l = open_q(img);
  ASSERT_TRUE(l);
  auto ours = read_all(*l);
  auto theirs = qemu_raw(img, d.path());
  EXPECT_SAME_BYTES(ours, theirs);
}

const char* kIo =
    "write -P 0xab 1234 5000;write -P 0x11 65536 65536;write -z 70000 3000;write -P 0x22 4000000 300000;"
    "write -z 4100000 100000;discard 4194304 65536;write -P 0x33 8387584 512";

TEST(Qcow2Read, MatchesQemu) {
  REQUIRE_QEMU();
  const Case cases[] = {
      {"default", "", kIo},
      {"v2", "-o compat=0.10", kIo},
      {"c512", "-o cluster_size=512", kIo},
      {"c4k", "-o cluster_size=4k", kIo},
      {"c2m", "-o cluster_size=2M", kIo},
      {"r1", "-o refcount_bits=1", kIo},
      {"r8", "-o refcount_bits=8", kIo},
      {"r64", "-o refcount_bits=64", kIo},
      {"lazy", "-o lazy_refcounts=on", kIo},
      {"extl2", "-o extended_l2=on", kIo},
      {"extl2c16k", "-o extended_l2=on,cluster_size=16k", kIo},
      {"zstd", "-o compression_type=zstd", kIo},
      {"prealloc", "-o preallocation=metadata", kIo},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    run_case(c);
  }
}

TEST(Qcow2Read, CompressedZlibAndZstd) {
  REQUIRE_QEMU();
  for (const char* ct : {"zlib", "zstd"}) {
    TempDir d;
    std::string src = d / "src.raw", img = d / "c.qcow2";
    auto data = pattern(3 << 20, 7);
    for (size_t i = 0; i < data.size(); i += 3) data[i] = std::byte{0};  // compressible
    std::memset(data.data() + (1 << 20), 0x41, 200000);
    { std::ofstream(src, std::ios::binary).write(reinterpret_cast<char*>(data.data()), data.size()); }
    ASSERT_EQ(sh("qemu-img convert -c -O qcow2 -o compression_type=" + std::string(ct) + " " + src + " " + img), 0);
    auto l = open_q(img);
    ASSERT_TRUE(l);
    EXPECT_SAME_BYTES(read_all(*l), data);
  }
}

TEST(Qcow2Read, SnapshotsAndBacking) {
  REQUIRE_QEMU();
  TempDir d;
  std::string base = d / "base.qcow2", top = d / "top.qcow2";
  ASSERT_EQ(sh("qemu-img create -q -f qcow2 " + base + " 4M"), 0);
  ASSERT_EQ(sh("qemu-io -c 'write -P 0x55 0 4M' " + base + " >/dev/null"), 0);
  ASSERT_EQ(sh("qemu-img snapshot -c s1 " + base), 0);
  ASSERT_EQ(sh("qemu-io -c 'write -P 0x66 100000 200000' " + base + " >/dev/null"), 0);
  auto l = open_q(base);
  ASSERT_TRUE(l);
  EXPECT_SAME_BYTES(read_all(*l), qemu_raw(base, d.path()));
  auto snaps = l->snapshots();
  ASSERT_EQ(snaps.size(), 1u);
  EXPECT_EQ(snaps[0].name, "s1");
  EXPECT_EQ(snaps[0].id, "1");
  EXPECT_EQ(snaps[0].disk_size, 4u << 20);
  // The snapshot's own view.
  auto s = open_q(base, false, "s1");
  ASSERT_TRUE(s);
  std::vector<std::byte> want(4 << 20, std::byte{0x55});
  EXPECT_SAME_BYTES(read_all(*s), want);
  // A backing chain.
  ASSERT_EQ(sh("qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 " + top + " 6M"), 0);
  ASSERT_EQ(sh("qemu-io -c 'write -P 0x77 3000000 70000' " + top + " >/dev/null"), 0);
  auto t = open_q(top);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->backing_filename(), "base.qcow2");
  EXPECT_EQ(t->backing_format(), "qcow2");
  t->set_backing(open_q(base));
  EXPECT_SAME_BYTES(read_all(*t), qemu_raw(top, d.path()));
}

}  // namespace
}  // namespace dk::fmt::qcow2test
