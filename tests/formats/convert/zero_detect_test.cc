#include "formats/core/zero_detect.h"

#include <gtest/gtest.h>

#include <vector>

namespace dk {
namespace {

TEST(ZeroDetect, EveryLengthAndOffsetAgreesWithScalar) {
  std::vector<std::byte> buf(1024 + 64);
  for (size_t start = 0; start < 40; ++start)
    for (size_t len = 0; len + start <= buf.size(); len += (len < 300 ? 1 : 37)) {
      std::span<const std::byte> s(buf.data() + start, len);
      ASSERT_TRUE(buffer_is_zero(s));
      // A single non-zero byte anywhere inside must be found.
      for (size_t pos : {size_t{0}, len / 3, len / 2, len ? len - 1 : 0}) {
        if (len == 0) break;
        buf[start + pos] = std::byte{0x40};
        ASSERT_FALSE(buffer_is_zero(s)) << start << " " << len << " " << pos;
        buf[start + pos] = std::byte{0};
      }
      // Bytes just outside must not matter.
      if (start > 0) buf[start - 1] = std::byte{1};
      if (start + len < buf.size()) buf[start + len] = std::byte{1};
      ASSERT_TRUE(buffer_is_zero(s)) << start << " " << len;
      if (start > 0) buf[start - 1] = std::byte{0};
      if (start + len < buf.size()) buf[start + len] = std::byte{0};
    }
}

TEST(ZeroDetect, Prefixes) {
  std::vector<std::byte> buf(10000);
  buf[5000] = std::byte{1};
  EXPECT_EQ(zero_prefix(buf, 4096), 4096u);
  EXPECT_EQ(data_prefix(std::span(buf).subspan(4096), 4096), 4096u);
  EXPECT_EQ(zero_prefix(std::span(buf).subspan(8192), 4096), 10000u - 8192u);
  EXPECT_TRUE(buffer_is_zero_scalar(std::span(buf).first(5000)));
}

}  // namespace
}  // namespace dk
