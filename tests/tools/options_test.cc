#include <gtest/gtest.h>

#include "tools/options.h"

namespace dk::tools {
namespace {

TEST(Options, ParseSize) {
  EXPECT_EQ(*parse_size("1024"), 1024u);
  EXPECT_EQ(*parse_size("64k"), 65536u);
  EXPECT_EQ(*parse_size("1.5G"), 3ull << 29);
  EXPECT_EQ(*parse_size("2T"), 2ull << 40);
  EXPECT_FALSE(parse_size("-1"));
  EXPECT_FALSE(parse_size("12Q"));
  EXPECT_FALSE(parse_size(""));
  EXPECT_FALSE(parse_size("16E"));
}

TEST(Options, ParseOptionString) {
  auto o = *parse_option_string("cluster_size=4k,lazy_refcounts,backing_file=a,,b");
  EXPECT_EQ(o["cluster_size"], "4k");
  EXPECT_EQ(o["lazy_refcounts"], "on");
  EXPECT_EQ(o["backing_file"], "a,b");
  EXPECT_FALSE(parse_option_string("=x"));
}

}  // namespace
}  // namespace dk::tools
