// Qcow2Layer::snapshot_create/apply/delete through the Layer interface,
// mixed with writes in the same session, checked by qemu-img.
#include "formats/qcow2/qcow2.h"
#include "tests/formats/qcow2/helpers.h"

namespace dk::fmt::qcow2test {
namespace {

SnapshotInfo named(const std::string& n) {
  SnapshotInfo s;
  s.name = n;
  s.date_sec = 1700000000;
  s.date_nsec = 5000;
  s.icount = 0;
  return s;
}

void write_pattern(Layer& l, uint64_t off, size_t n, uint32_t seed) {
  auto v = pattern(n, seed);
  auto r = l.write(off, v);
  ASSERT_TRUE(r) << r.error().message;
}

std::vector<std::byte> snapshot_raw(const std::string& img, const std::string& name) {
  auto l = open_q(img, false, name);
  if (!l) return {};
  return read_all(*l);
}

TEST(Qcow2SnapshotWrite, CreateApplyDeleteInOneSession) {
  REQUIRE_QEMU();
  TempDir d;
  std::string img = d / "s.qcow2";
  ASSERT_EQ(sh("qemu-img create -q -f qcow2 -o cluster_size=4096 " + img + " 2M"), 0);
  std::vector<std::byte> st0, st1;
  {
    auto l = open_q(img, true);
    ASSERT_TRUE(l);
    write_pattern(*l, 0, 300000, 1);
    st0 = read_all(*l);
    auto id = l->snapshot_create(named("a"));
    ASSERT_TRUE(id) << id.error().message;
    EXPECT_EQ(*id, "1");
    // Writes after the snapshot copy on write; the snapshot keeps st0.
    write_pattern(*l, 4096 * 3 + 100, 50000, 2);
    write_pattern(*l, 1500000, 9000, 3);
    st1 = read_all(*l);
    auto id2 = l->snapshot_create(named("b"));
    ASSERT_TRUE(id2) << id2.error().message;
    EXPECT_EQ(*id2, "2");
    write_pattern(*l, 0, 2 << 20, 4);
    ASSERT_TRUE(l->snapshot_apply("a"));
    EXPECT_SAME_BYTES(read_all(*l), st0);
    write_pattern(*l, 8192, 4096, 5);
    ASSERT_TRUE(l->snapshot_apply("2"));
    EXPECT_SAME_BYTES(read_all(*l), st1);
    auto* q = static_cast<qcow2::Qcow2Layer*>(l.get());
    auto cr = q->check(false, false);
    ASSERT_TRUE(cr);
    EXPECT_EQ(cr->corruptions + cr->leaks, 0u);
  }
  EXPECT_TRUE(qemu_check_clean(img)) << sh_out("qemu-img check " + img);
  EXPECT_SAME_BYTES(snapshot_raw(img, "a"), st0);
  EXPECT_SAME_BYTES(snapshot_raw(img, "b"), st1);
  EXPECT_SAME_BYTES(qemu_raw(img, d.path()), st1);
  {
    auto l = open_q(img, true);
    ASSERT_TRUE(l->snapshot_delete("1", "a"));
    EXPECT_EQ(l->snapshot_delete("1", "a").error().code, ENOENT);
    ASSERT_TRUE(l->snapshot_delete("2", "b"));
    EXPECT_TRUE(l->snapshots().empty());
  }
  EXPECT_TRUE(qemu_check_clean(img)) << sh_out("qemu-img check " + img);
  EXPECT_SAME_BYTES(qemu_raw(img, d.path()), st1);
}

TEST(Qcow2SnapshotWrite, ReadOnlyAndMissing) {
  REQUIRE_QEMU();
  TempDir d;
  std::string img = d / "r.qcow2";
  ASSERT_EQ(sh("qemu-img create -q -f qcow2 " + img + " 1M && qemu-img snapshot -c x " + img), 0);
  auto ro = open_q(img, false);
  EXPECT_EQ(ro->snapshot_create(named("y")).error().code, EROFS);
  ro.reset();
  auto l = open_q(img, true);
  EXPECT_EQ(l->snapshot_apply("nope").error().code, ENOENT);
  EXPECT_EQ(l->snapshot_delete("1", "other").error().code, ENOENT);
}

// A snapshot whose L1 table points beyond the end of the file is refused
// before anything changes.
TEST(Qcow2SnapshotWrite, CorruptSnapshotL1Refused) {
  REQUIRE_QEMU();
  TempDir d;
  std::string img = d / "c.qcow2";
  ASSERT_EQ(sh("qemu-img create -q -f qcow2 " + img + " 1M && qemu-io -c 'write 0 64k' " + img +
               " >/dev/null && qemu-img snapshot -c x " + img),
            0);
  // The snapshot's L1 entry 0 (the L1 copy is the cluster the table names).
  auto bytes = read_file(img);
  uint64_t table = 0, l1 = 0;
  for (int i = 0; i < 8; ++i) table = table << 8 | uint8_t(bytes[64 + i]);
  for (int i = 0; i < 8; ++i) l1 = l1 << 8 | uint8_t(bytes[table + i]);
  ASSERT_EQ(sh("printf '\\001\\0\\0\\0\\0\\0\\0\\0' | dd of=" + img + " bs=1 seek=" + std::to_string(l1) +
               " conv=notrunc 2>/dev/null"),
            0);
  auto before = read_file(img);
  {
    auto l = open_q(img, true);
    auto r = l->snapshot_apply("x");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, EIO);
    auto del = l->snapshot_delete("1", "x");
    ASSERT_FALSE(del);
  }
  EXPECT_SAME_BYTES(read_file(img), before);
}

}  // namespace
}  // namespace dk::fmt::qcow2test
