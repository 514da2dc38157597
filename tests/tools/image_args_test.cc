#include <gtest/gtest.h>

#include "tools/image_args.h"

namespace dk::tools {
namespace {

TEST(ImageArgs, OutputFormat) {
  EXPECT_EQ(*parse_output_format("human"), OutputFormat::Human);
  EXPECT_EQ(*parse_output_format("json"), OutputFormat::Json);
  auto bad = parse_output_format("xml");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "--output must be used with human or json as argument.");
}

TEST(ImageArgs, CacheModes) {
  fmt::OpenOptions o;
  ASSERT_TRUE(apply_cache_mode("none", "source cache option", o));
  EXPECT_TRUE(o.direct);
  EXPECT_FALSE(o.sync_writes);
  ASSERT_TRUE(apply_cache_mode("directsync", "source cache option", o));
  EXPECT_TRUE(o.direct && o.sync_writes);
  ASSERT_TRUE(apply_cache_mode("writeback", "source cache option", o));
  EXPECT_FALSE(o.direct || o.sync_writes);
  auto bad = apply_cache_mode("foo", "source cache option", o);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "Invalid source cache option: foo");
}

}  // namespace
}  // namespace dk::tools
