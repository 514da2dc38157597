#include <gtest/gtest.h>

#include "formats/core/checked_math.h"
#include "formats/core/error.h"

namespace dk {
namespace {

Result<int> half(int v) {
  if (v % 2) return make_error(EINVAL, "odd");
  return v / 2;
}

Result<int> quarter(int v) {
  int h = DK_TRY_CTX(half(v), "first half");
  return DK_TRY(half(h));
}

TEST(Error, TryPropagatesWithContext) {
  EXPECT_EQ(*quarter(8), 2);
  auto r = quarter(3);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "first half: odd");
  EXPECT_EQ(r.error().code, EINVAL);
  EXPECT_FALSE(quarter(6));
}

TEST(CheckedMath, RangeWithin) {
  EXPECT_TRUE(range_within(0, 10, 10));
  EXPECT_FALSE(range_within(5, 6, 10));
  EXPECT_FALSE(range_within(UINT64_MAX, 2, UINT64_MAX));
  EXPECT_FALSE(checked_add(UINT64_MAX, 1));
  EXPECT_EQ(*checked_mul(1 << 20, 1 << 20), 1ull << 40);
}

}  // namespace
}  // namespace dk
