// Qcow2Layer::check against `qemu-img check --output=json`.
#include "formats/qcow2/qcow2.h"
#include "tests/formats/qcow2/helpers.h"

namespace dk::fmt::qcow2test {
namespace {

void compare(const std::string& img, bool writable) {
  auto j = nlohmann::json::parse(sh_out("qemu-img check -U --output=json " + img + " 2>/dev/null"));
  auto l = open_q(img, writable);
  ASSERT_TRUE(l);
  auto* q = static_cast<qcow2::Qcow2Layer*>(l.get());
  auto r = q->check(kCheckFixNone);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->corruptions, j.value("corruptions", 0u));
  EXPECT_EQ(r->leaks, j.value("leaks", 0u));
  EXPECT_EQ(r->check_errors, j.value("check-errors", 0u));
  EXPECT_EQ(r->image_end_offset, j.value("image-end-offset", 0u));
  EXPECT_EQ(r->total_clusters, j.value("total-clusters", 0u));
  EXPECT_EQ(r->allocated_clusters, j.value("allocated-clusters", 0u));
  if (j.contains("fragmented-clusters")) {
    EXPECT_EQ(r->fragmented_clusters, j.value("fragmented-clusters", 0u));
    EXPECT_EQ(r->compressed_clusters, j.value("compressed-clusters", 0u));
  }
}

TEST(Qcow2Check, MatchesQemuCheck) {
  REQUIRE_QEMU();
  TempDir d;
  std::string img = d / "c.qcow2", src = d / "src.raw";
  ASSERT_EQ(sh("yes hello | head -c 3000000 > " + src + " && head -c 500000 /dev/urandom >> " + src), 0);
  ASSERT_EQ(sh("qemu-img convert -c -O qcow2 " + src + " " + img), 0);
  ASSERT_EQ(sh("qemu-io -c 'write -P 3 100000 300000' -c 'write -P 4 3200000 10000' " + img + " >/dev/null"), 0);
  ASSERT_EQ(sh("qemu-img snapshot -c s " + img + " && qemu-io -c 'write -P 5 0 70000' " + img + " >/dev/null"), 0);
  compare(img, false);
  // A dirty lazy-refcounts image opened read-only: refcount errors and OFLAG_COPIED errors.
  std::string lz = d / "lz.qcow2";
  ASSERT_EQ(sh("qemu-img create -q -f qcow2 -o lazy_refcounts=on " + lz + " 8M"), 0);
  sh("qemu-io -c 'write -P 0x12 0 1M' -c abort " + lz + " >/dev/null 2>&1");
  compare(lz, false);
}

TEST(Qcow2Check, RepairLeaks) {
  REQUIRE_QEMU();
  TempDir d;
  std::string img = d / "l.qcow2";
  ASSERT_EQ(sh("qemu-img create -q -f qcow2 " + img + " 8M && qemu-io -c 'write 0 1M' " + img + " >/dev/null"), 0);
  // Leak clusters: drop the L1 entry behind qemu's back.
  ASSERT_EQ(sh("printf '\\0\\0\\0\\0\\0\\0\\0\\0' | dd of=" + img + " bs=1 seek=196608 conv=notrunc 2>/dev/null"), 0);
  compare(img, false);
  {
    auto l = open_q(img, true);
    auto r = static_cast<qcow2::Qcow2Layer*>(l.get())->check(static_cast<CheckFix>(kCheckFixLeaks | kCheckFixErrors));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->leaks_fixed, 17u);
  }
  EXPECT_TRUE(qemu_check_clean(img)) << sh_out("qemu-img check " + img);
}

}  // namespace
}  // namespace dk::fmt::qcow2test
