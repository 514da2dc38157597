// Qcow2Layer::amend and parse_amend_options (the CLI differential cases
// live in tests/cli/amend/).
#include <algorithm>

#include "formats/qcow2/qcow2.h"
#include "tests/formats/qcow2/helpers.h"

namespace dk::fmt::qcow2test {
namespace {

using Items = std::vector<std::pair<std::string, std::string>>;

TEST(Qcow2Amend, ParsesOptionsInQemuWords) {
  auto s = qcow2::parse_amend_options(Items{{"compat", "0.10"}, {"refcount_bits", "0x10"}, {"size", "1.5M"},
                                            {"lazy_refcounts", "yes"}, {"compat", "v3"}});
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(*s->compat, "v3");  // the last value wins, as in QEMU
  EXPECT_EQ(*s->refcount_bits, 16u);
  EXPECT_EQ(s->size, 1572864u);
  EXPECT_TRUE(*s->lazy_refcounts);
  auto msg = [](const Items& items) {
    auto r = qcow2::parse_amend_options(items);
    return r ? std::string() : r.error().message;
  };
  EXPECT_EQ(msg({{"cluster_size", "4k"}}), "Invalid parameter 'cluster_size'\nThis option is only supported for image creation");
  EXPECT_EQ(msg({{"nocow", "on"}}), "Invalid parameter 'nocow'");
  EXPECT_EQ(msg({{"refcount_bits", "16k"}}), "Parameter 'refcount_bits' expects a number");
  EXPECT_EQ(msg({{"lazy_refcounts", "maybe"}}), "Parameter 'lazy_refcounts' expects 'on' or 'off'");
  EXPECT_EQ(msg({{"size", "-1"}}).substr(0, 58), "Parameter 'size' expects a non-negative number below 2^64\n");
  EXPECT_TRUE(qcow2::parse_amend_options(Items{{"encrypt.state", "active"}})->encryption);
}

TEST(Qcow2Amend, RefcountWidthKeepsImageConsistent) {
  REQUIRE_QEMU();
  TempDir d;
  const std::string img = d / "a.qcow2";
  ASSERT_EQ(sh("qemu-img create -q -f qcow2 " + img + " 8M && qemu-io -c 'write -P 1 0 1M' " + img + " >/dev/null"), 0);
  {
    auto l = open_q(img, true);
    ASSERT_TRUE(l);
    auto* q = static_cast<qcow2::Qcow2Layer*>(l.get());
    qcow2::Qcow2Layer::AmendSpec spec;
    spec.refcount_bits = 1;
    std::vector<double> seen;
    auto r = q->amend(spec, [&](double p) { seen.push_back(p); });
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_FALSE(seen.empty());
    EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
    EXPECT_EQ(seen.back(), 100.0);
    auto c = q->check(kCheckFixNone);
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->corruptions + c->leaks + c->check_errors, 0u);
  }
  EXPECT_NE(sh_out("qemu-img info " + img).find("refcount bits: 1\n"), std::string::npos);
  EXPECT_EQ(sh("qemu-img check -q " + img), 0);
}

TEST(Qcow2Amend, RefusesReadOnlyLayer) {
  REQUIRE_QEMU();
  TempDir d;
  const std::string img = d / "a.qcow2";
  ASSERT_EQ(sh("qemu-img create -q -f qcow2 " + img + " 1M"), 0);
  auto l = open_q(img, false);
  ASSERT_TRUE(l);
  qcow2::Qcow2Layer::AmendSpec spec;
  spec.compat = "0.10";
  auto r = static_cast<qcow2::Qcow2Layer*>(l.get())->amend(spec, nullptr);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EROFS);
}

}  // namespace
}  // namespace dk::fmt::qcow2test
