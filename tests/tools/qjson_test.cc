// qjson must print what qemu-img 7.2 prints; expected strings are real
// `qemu-img info --output=json` outputs.
#include <gtest/gtest.h>

#include "tools/qjson.h"

namespace dk::tools {
namespace {

using nlohmann::ordered_json;

TEST(QJson, HashOrderOfImageInfo) {
  // ImageInfo fields in QAPI order.
  ordered_json o = ordered_json::object();
  for (const char* k : {"filename", "format", "dirty-flag", "actual-size", "virtual-size",
                        "cluster-size", "encrypted", "compressed", "backing-filename",
                        "full-backing-filename", "backing-filename-format", "snapshots",
                        "backing-image", "format-specific"})
    o[k] = 0;
  std::vector<std::string> want = {
      "backing-image", "compressed",      "backing-filename-format", "snapshots",
      "virtual-size",  "filename",        "cluster-size",            "format",
      "actual-size",   "format-specific", "full-backing-filename",   "encrypted",
      "backing-filename", "dirty-flag"};
  EXPECT_EQ(qdict_key_order(o), want);
}

TEST(QJson, SameBucketNewestFirst) {
  // Two keys in one bucket come out newest first.
  ordered_json o = ordered_json::object();
  std::string a = "a";
  std::string b;
  // Only the length and the first two bytes decide the bucket.
  for (int i = 0; i < 65536 && b.empty(); ++i) {
    std::string k = {static_cast<char>(0x21 + i % 90), static_cast<char>(0x21 + i / 90 % 90)};
    if (qdict_hash(k) % 512 == qdict_hash(a) % 512) b = k;
  }
  ASSERT_FALSE(b.empty());
  o[a] = 1;
  o[b] = 2;
  EXPECT_EQ(qdict_key_order(o), (std::vector<std::string>{b, a}));
}

TEST(QJson, RawInfoMatchesQemu) {
  ordered_json o = ordered_json::object();
  o["filename"] = "r.img";
  o["format"] = "raw";
  o["dirty-flag"] = false;
  o["actual-size"] = 4096;
  o["virtual-size"] = 1073741824;
  EXPECT_EQ(to_qjson_pretty(o),
            "{\n"
            "    \"virtual-size\": 1073741824,\n"
            "    \"filename\": \"r.img\",\n"
            "    \"format\": \"raw\",\n"
            "    \"actual-size\": 4096,\n"
            "    \"dirty-flag\": false\n"
            "}");
}

TEST(QJson, NestedAndEmptyContainers) {
  ordered_json bm = ordered_json::object();
  bm["name"] = "b2";
  bm["granularity"] = 65536;
  bm["flags"] = ordered_json::array();
  ordered_json data = ordered_json::object();
  data["compat"] = "1.1";
  data["lazy-refcounts"] = false;
  data["corrupt"] = false;
  data["refcount-bits"] = 16;
  data["bitmaps"] = ordered_json::array({bm});
  data["compression-type"] = "zlib";
  EXPECT_EQ(to_qjson_pretty(data),
            "{\n"
            "    \"compat\": \"1.1\",\n"
            "    \"compression-type\": \"zlib\",\n"
            "    \"lazy-refcounts\": false,\n"
            "    \"bitmaps\": [\n"
            "        {\n"
            "            \"flags\": [\n"
            "            ],\n"
            "            \"name\": \"b2\",\n"
            "            \"granularity\": 65536\n"
            "        }\n"
            "    ],\n"
            "    \"refcount-bits\": 16,\n"
            "    \"corrupt\": false\n"
            "}");
  EXPECT_EQ(to_qhuman(data, 1),
            "    compat: 1.1\n"
            "    compression type: zlib\n"
            "    lazy refcounts: false\n"
            "    bitmaps:\n"
            "        [0]:\n"
            "            flags:\n"
            "            name: b2\n"
            "            granularity: 65536\n"
            "    refcount bits: 16\n"
            "    corrupt: false\n");
  EXPECT_EQ(to_qjson_pretty(ordered_json::object()), "{\n}");
}

TEST(QJson, QuotesLikeQemu) {
  EXPECT_EQ(qjson_quote("u \xc3\xbc\"\\.img"), "\"u \\u00FC\\\"\\\\.img\"");
  EXPECT_EQ(qjson_quote("inv\xff\xc3x\xe2\x82.img"), "\"inv\\uFFFD\\uFFFDx\\uFFFD.img\"");
  EXPECT_EQ(qjson_quote("t\x01\x7f\xf0\x9f\x98\x80\xed\xa0\x80.img"),
            "\"t\\u0001\\u007F\\uD83D\\uDE00\\uFFFD.img\"");
  EXPECT_EQ(qjson_quote("a\tb\nc"), "\"a\\tb\\nc\"");
}

}  // namespace
}  // namespace dk::tools
