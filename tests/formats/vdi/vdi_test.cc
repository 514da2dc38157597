#include <fcntl.h>

#include <cstring>
#include <fstream>

#include <gtest/gtest.h>

#include "formats/chain.h"
#include "formats/core/endian.h"
#include "formats/core/file.h"
#include "formats/vdi/vdi.h"
#include "tests/formats/raw/test_support.h"

namespace dk::fmt::vdi {
namespace {

using testing::have_program;
using testing::our_map;
using testing::qemu_map;
using testing::run;
using testing::TempDir;

constexpr uint64_t kMiB = 1 << 20;

std::vector<std::byte> pattern(size_t n, uint8_t seed) {
  std::vector<std::byte> v(n);
  for (size_t i = 0; i < n; i++) v[i] = std::byte(static_cast<uint8_t>(seed + i * 7 + i / 4099));
  return v;
}

Result<void> make(const std::string& path, uint64_t size, bool is_static = false) {
  CreateSpec spec;
  spec.size = size;
  if (is_static) spec.options["static"] = "on";
  return create_vdi(path, spec);
}

Result<std::unique_ptr<Layer>> open_rw(const std::string& p) {
  OpenOptions o;
  o.writable = true;
  return open_vdi(p, o);
}

Header read_header(const std::string& p) {
  HeaderSector raw{};
  std::ifstream(p, std::ios::binary).read(reinterpret_cast<char*>(raw.data()), raw.size());
  return decode_header(raw);
}

void write_header(const std::string& p, const Header& h) {
  HeaderSector raw{};
  {
    std::ifstream in(p, std::ios::binary);
    in.read(reinterpret_cast<char*>(raw.data()), raw.size());
  }
  encode_header(h, raw);
  std::fstream(p, std::ios::binary | std::ios::in | std::ios::out)
      .write(reinterpret_cast<const char*>(raw.data()), raw.size());
}

void poke32(const std::string& p, uint64_t off, uint32_t v) {
  std::fstream f(p, std::ios::binary | std::ios::in | std::ios::out);
  f.seekp(static_cast<std::streamoff>(off));
  char b[4];
  store_le32(b, v);
  f.write(b, 4);
}

std::vector<std::byte> read_all(Layer& l) {
  std::vector<std::byte> v(l.size());
  EXPECT_TRUE(l.read(0, v));
  return v;
}

bool qemu_check(const std::string& p) {
  int st = 0;
  run("qemu-img check -f vdi '" + p + "' 2>&1", &st);
  return st == 0;
}

TEST(Vdi, CreateHeaderLayout) {
  TempDir t;
  std::string p = t.path("a.vdi");
  ASSERT_TRUE(make(p, 5 * kMiB + 1000));
  Header h = read_header(p);
  EXPECT_EQ(h.text, kText);
  EXPECT_EQ(h.signature, kSignature);
  EXPECT_EQ(h.version, kVersion11);
  EXPECT_EQ(h.header_size, 0x180u);
  EXPECT_EQ(h.image_type, kTypeDynamic);
  EXPECT_EQ(h.offset_bmap, 0x200u);
  EXPECT_EQ(h.offset_data, 0x400u);
  EXPECT_EQ(h.disk_size, 5 * kMiB + 1024);
  EXPECT_EQ(h.blocks_in_image, 6u);
  EXPECT_EQ(h.blocks_allocated, 0u);
  EXPECT_EQ(h.sector_size, 512u);
  EXPECT_FALSE(uuid_is_null(h.uuid_image));
  EXPECT_FALSE(uuid_is_null(h.uuid_last_snap));
  EXPECT_NE(h.uuid_image, h.uuid_last_snap);
  EXPECT_TRUE(uuid_is_null(h.uuid_link));
  EXPECT_TRUE(uuid_is_null(h.uuid_parent));
  // Version 4 in the RFC notation.
  EXPECT_EQ(uuid_string(h.uuid_image)[14], '4');
  EXPECT_EQ(File::open(p, O_RDONLY)->size().value(), 0x400u);
}

TEST(Vdi, WriteReadReopen) {
  TempDir t;
  std::string p = t.path("a.vdi");
  ASSERT_TRUE(make(p, 4 * kMiB));
  auto data = pattern(kMiB + 5000, 9);
  {
    auto l = open_rw(p);
    ASSERT_TRUE(l) << l.error().message;
    ASSERT_TRUE((*l)->write(3 * kMiB - 2500, std::span(data).first(2500)));
    ASSERT_TRUE((*l)->write(700, data));
    auto back = read_all(**l);
    EXPECT_TRUE(std::equal(data.begin(), data.end(), back.begin() + 700));
    ASSERT_TRUE((*l)->flush());
  }
  auto l = open_vdi(p, {});
  ASSERT_TRUE(l) << l.error().message;
  auto back = read_all(**l);
  EXPECT_TRUE(std::equal(data.begin(), data.end(), back.begin() + 700));
  EXPECT_TRUE(std::equal(data.begin(), data.begin() + 2500, back.begin() + 3 * kMiB - 2500));
  for (size_t i = 0; i < 700; i++) ASSERT_EQ(back[i], std::byte{0});
  EXPECT_EQ(read_header(p).blocks_allocated, 3u);
  auto e = (*l)->block_status(3 * kMiB, kMiB);
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->zero());
  EXPECT_FALSE(e->data());
  if (have_program("qemu-img")) {
    EXPECT_TRUE(qemu_check(p));
    EXPECT_EQ(our_map(**l), qemu_map(p, "vdi"));
  }
}

TEST(Vdi, FlushOnCloseKeepsBlockMap) {
  TempDir t;
  std::string p = t.path("a.vdi");
  ASSERT_TRUE(make(p, 2 * kMiB));
  auto data = pattern(4096, 1);
  const Header before = read_header(p);
  {
    auto l = open_rw(p);
    ASSERT_TRUE(l);
    ASSERT_TRUE((*l)->write(kMiB + 4096, data));
  }
  // Like VirtualBox: a written image gets a new modification UUID.
  const Header after = read_header(p);
  EXPECT_EQ(after.uuid_image, before.uuid_image);
  EXPECT_NE(after.uuid_last_snap, before.uuid_last_snap);
  auto l = open_vdi(p, {});
  ASSERT_TRUE(l);
  std::vector<std::byte> back(4096);
  ASSERT_TRUE((*l)->read(kMiB + 4096, back));
  EXPECT_EQ(back, data);
}

TEST(Vdi, StaticImage) {
  TempDir t;
  std::string p = t.path("s.vdi");
  ASSERT_TRUE(make(p, 3 * kMiB, true));
  Header h = read_header(p);
  EXPECT_EQ(h.image_type, kTypeStatic);
  EXPECT_EQ(h.blocks_allocated, 3u);
  EXPECT_EQ(File::open(p, O_RDONLY)->size().value(), 0x400 + 3 * kMiB);
  {
    auto w = open_rw(p);
    ASSERT_TRUE(w);
    ASSERT_TRUE((*w)->write(kMiB + 77, pattern(10000, 4)));
  }
  auto l = open_vdi(p, {});
  ASSERT_TRUE(l);
  if (have_program("qemu-img")) {
    EXPECT_TRUE(qemu_check(p));
    EXPECT_EQ(our_map(**l), qemu_map(p, "vdi"));
  }
}

TEST(Vdi, MalformedImagesFailCleanly) {
  TempDir t;
  std::string good = t.path("good.vdi");
  ASSERT_TRUE(make(good, 4 * kMiB));
  {
    auto l = open_rw(good);
    ASSERT_TRUE(l);
    auto d = pattern(2 * kMiB, 3);
    ASSERT_TRUE((*l)->write(0, d));  // blocks 0 and 1 get data blocks 0 and 1
  }
  auto expect_error = [&](const char* what, auto mutate) {
    std::string p = t.path(std::string(what) + ".vdi");
    std::filesystem::copy_file(good, p);
    mutate(p);
    auto l = open_vdi(p, {});
    ASSERT_FALSE(l) << what;
    EXPECT_NE(l.error().message.find(what), std::string::npos) << l.error().message;
    EXPECT_NE(l.error().message.find(p), std::string::npos) << l.error().message;
  };
  expect_error("both use data block 0", [](const std::string& p) { poke32(p, 0x204, 0); });
  expect_error("points to data block 9", [](const std::string& p) { poke32(p, 0x208, 9); });
  expect_error("block size 65536 is not 1048576", [](const std::string& p) {
    Header h = read_header(p);
    h.block_size = 65536;
    write_header(p, h);
  });
  expect_error("Unsupported VDI image size", [](const std::string& p) {
    Header h = read_header(p);
    h.disk_size = ~uint64_t{0};
    write_header(p, h);
  });
  expect_error("data offset 0x300400", [](const std::string& p) {
    Header h = read_header(p);
    h.offset_data = 0x100000 + 0x400 + 2 * kMiB;
    write_header(p, h);
  });
  expect_error("is beyond the end of the file", [](const std::string& p) {
    Header h = read_header(p);
    h.blocks_in_image = 0x1000000;
    h.disk_size = 4 * kMiB;
    h.offset_data = 0x4000400;
    write_header(p, h);
  });
  expect_error("data of block 1 at offset", [](const std::string& p) {
    std::filesystem::resize_file(p, 0x400 + 100);
  });
  expect_error("overlaps the data area", [](const std::string& p) {
    Header h = read_header(p);
    h.offset_bmap = 0x400;
    write_header(p, h);
  });
}

TEST(Vdi, HeaderCountRepairedOnFlush) {
  TempDir t;
  std::string p = t.path("a.vdi");
  ASSERT_TRUE(make(p, 2 * kMiB));
  {
    auto l = open_rw(p);
    ASSERT_TRUE(l);
    ASSERT_TRUE((*l)->write(0, pattern(512, 1)));
  }
  Header h = read_header(p);
  h.blocks_allocated = 0;  // as after a crash before the header update
  write_header(p, h);
  ASSERT_TRUE(open_vdi(p, {}));
  { ASSERT_TRUE(open_rw(p)); }
  EXPECT_EQ(read_header(p).blocks_allocated, 1u);
}

// Fills blocks so that growing needs relocation of the first data blocks.
TEST(Vdi, GrowRelocatesDataBlocks) {
  TempDir t;
  std::string p = t.path("g.vdi");
  ASSERT_TRUE(make(p, 100 * kMiB));  // 100 entries: the map (512 bytes) holds 128
  std::vector<std::byte> expect(100 * kMiB);
  {
    auto l = open_rw(p);
    ASSERT_TRUE(l);
    for (uint64_t b : {5u, 0u, 99u, 42u}) {
      auto d = pattern(kMiB - 1000, static_cast<uint8_t>(b));
      ASSERT_TRUE((*l)->write(b * kMiB + 300, d));
      std::memcpy(expect.data() + b * kMiB + 300, d.data(), d.size());
    }
    ASSERT_TRUE((*l)->truncate(120 * kMiB, false));  // in place (fits in 128)
    EXPECT_EQ(read_header(p).offset_data, 0x400u);
    ASSERT_TRUE((*l)->truncate(200 * kMiB, false));  // needs 800 bytes of map
    EXPECT_EQ((*l)->size(), 200 * kMiB);
    auto back = read_all(**l);
    EXPECT_TRUE(std::equal(expect.begin(), expect.end(), back.begin()));
    for (size_t i = expect.size(); i < back.size(); i++) ASSERT_EQ(back[i], std::byte{0});
    auto d = pattern(4096, 200);
    ASSERT_TRUE((*l)->write(199 * kMiB, d));
    expect.resize(200 * kMiB);
    std::memcpy(expect.data() + 199 * kMiB, d.data(), d.size());
  }
  Header h = read_header(p);
  EXPECT_EQ(h.blocks_in_image, 200u);
  EXPECT_EQ(h.disk_size, 200 * kMiB);
  EXPECT_EQ(h.blocks_allocated, 5u);
  EXPECT_GE(h.offset_data, h.offset_bmap + 800);
  auto l = open_vdi(p, {});
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_EQ(read_all(**l), expect);
  if (have_program("qemu-img")) {
    EXPECT_TRUE(qemu_check(p));
    std::string raw = t.path("expect.raw");
    std::ofstream(raw, std::ios::binary).write(reinterpret_cast<const char*>(expect.data()),
                                               static_cast<std::streamsize>(expect.size()));
    int st = 0;
    run("qemu-img compare -f raw -F vdi '" + raw + "' '" + p + "' 2>&1", &st);
    EXPECT_EQ(st, 0);
  }
}

TEST(Vdi, GrowStaticImage) {
  TempDir t;
  std::string p = t.path("s.vdi");
  ASSERT_TRUE(make(p, 127 * kMiB, true));
  {
    auto l = open_rw(p);
    ASSERT_TRUE(l);
    ASSERT_TRUE((*l)->write(0, pattern(4096, 5)));
    ASSERT_TRUE((*l)->truncate(200 * kMiB, false));
    EXPECT_FALSE((*l)->truncate(10 * kMiB, true));
  }
  Header h = read_header(p);
  EXPECT_EQ(h.blocks_in_image, 200u);
  EXPECT_EQ(h.blocks_allocated, 200u);
  auto l = open_vdi(p, {});
  ASSERT_TRUE(l) << l.error().message;
  std::vector<std::byte> back(4096);
  ASSERT_TRUE((*l)->read(0, back));
  EXPECT_EQ(back, pattern(4096, 5));
  ASSERT_TRUE((*l)->read(199 * kMiB, back));
  EXPECT_EQ(back, std::vector<std::byte>(4096));
  if (have_program("qemu-img")) {
    EXPECT_TRUE(qemu_check(p));
  }
}

// A differencing image made by hand the way VirtualBox links one: type 4,
// uuid_link = the parent's uuid_image, uuid_parent = its uuid_last_snap.
TEST(Vdi, DifferencingImageReadsThroughParent) {
  TempDir t;
  std::string parent = t.path("base.vdi");
  std::string child = t.path("child.vdi");
  ASSERT_TRUE(make(parent, 3 * kMiB));
  auto base = pattern(3 * kMiB, 11);
  {
    auto l = open_rw(parent);
    ASSERT_TRUE(l);
    ASSERT_TRUE((*l)->write(0, base));
  }
  ASSERT_TRUE(make(child, 3 * kMiB));
  Header ph = read_header(parent);
  Header ch = read_header(child);
  ch.image_type = kTypeDiff;
  ch.uuid_link = ph.uuid_image;
  ch.uuid_parent = ph.uuid_last_snap;
  write_header(child, ch);

  // Found next to the child by UUID.
  ChainOptions co;
  co.format = "vdi";
  co.open.writable = true;
  auto top = open_chain(child, co);
  ASSERT_TRUE(top) << top.error().message;
  EXPECT_EQ((*top)->backing_filename(), "base.vdi");
  auto d = pattern(1000, 99);
  ASSERT_TRUE((*top)->write(kMiB + 10, d));  // the rest of the block comes from the parent
  ASSERT_TRUE((*top)->write_zeroes(2 * kMiB, kMiB, false));
  std::vector<std::byte> expect = base;
  std::memcpy(expect.data() + kMiB + 10, d.data(), d.size());
  std::memset(expect.data() + 2 * kMiB, 0, kMiB);
  EXPECT_EQ(read_all(**top), expect);
  auto st = chain_block_status(**top, 0, kMiB);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->depth, 1);
  top->reset();

  // Given explicitly.
  OpenOptions o;
  o.extra["parent"] = parent;
  auto l = open_image(child, "vdi", o);
  ASSERT_TRUE(l) << l.error().message;
  auto b = open_image(parent, "vdi", {});
  ASSERT_TRUE(b);
  (*l)->set_backing(std::move(*b));
  EXPECT_EQ(read_all(**l), expect);

  // A wrong parent is refused; a missing one is a clear error.
  o.extra["parent"] = child;
  auto wrong = open_image(child, "vdi", o);
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message.find("is not its parent"), std::string::npos);
  std::filesystem::remove(parent);
  auto missing = open_image(child, "vdi", {});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("parent=PATH"), std::string::npos);
}

TEST(Vdi, ProbeAndCreateErrors) {
  TempDir t;
  std::string p = t.path("a.vdi");
  ASSERT_TRUE(make(p, kMiB));
  auto d = probe_file(p);
  ASSERT_TRUE(d);
  EXPECT_EQ((*d)->name, "vdi");
  auto big = make(t.path("big.vdi"), kMaxDiskSize + 1);
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().message.find("max supported is 0x1fffff8000000"), std::string::npos);
  CreateSpec spec;
  spec.size = kMiB;
  spec.options["cluster_size"] = "65536";
  EXPECT_FALSE(create_vdi(t.path("c.vdi"), spec));
}

}  // namespace
}  // namespace dk::fmt::vdi
