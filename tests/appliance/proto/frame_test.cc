#include "appliance/proto/frame.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace dk::proto {
namespace {

TEST(ProtoFrame, RoundTripsJsonAndData) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  Channel w(-1, p[1]), r(p[0], -1);
  ASSERT_TRUE(w.write_json({{"id", 1}, {"op", "ping"}}));
  std::string bytes = "abc";
  ASSERT_TRUE(w.write_data(7, std::as_bytes(std::span(bytes))));
  ::close(p[1]);
  auto f = r.read();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->kind, FrameKind::Json);
  EXPECT_EQ(nlohmann::json::parse(f->body)["op"], "ping");
  f = r.read();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->kind, FrameKind::Data);
  EXPECT_EQ(f->id, 7u);
  EXPECT_EQ(f->body, "abc");
  f = r.read();
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code, ENODATA);
  ::close(p[0]);
}

TEST(ProtoFrame, SkipsOversizedFrames) {
  char path[] = "/tmp/dk-proto-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::unlink(path);
  uint32_t len = kMaxFrame + 1;
  unsigned char hdr[4] = {static_cast<unsigned char>(len >> 24), static_cast<unsigned char>(len >> 16),
                          static_cast<unsigned char>(len >> 8), static_cast<unsigned char>(len)};
  ASSERT_EQ(::write(fd, hdr, 4), 4);
  ASSERT_EQ(::ftruncate(fd, 4 + len), 0);
  ::lseek(fd, 0, SEEK_END);
  std::string next = encode_json({{"id", 2}, {"op", "ping"}});
  ASSERT_EQ(::write(fd, next.data(), next.size()), static_cast<ssize_t>(next.size()));
  ::lseek(fd, 0, SEEK_SET);
  Channel r(fd, -1);
  auto f = r.read();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->kind, FrameKind::Bad);
  f = r.read();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->kind, FrameKind::Json);
  ::close(fd);
}

TEST(ProtoFrame, TruncatedFrameIsAnError) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  ASSERT_EQ(::write(p[1], "\0\0\0\x10J{", 6), 6);
  ::close(p[1]);
  Channel r(p[0], -1);
  auto f = r.read();
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code, EPIPE);
  ::close(p[0]);
}

TEST(ProtoRequest, ParsesAndRejects) {
  nlohmann::json id;
  auto r = parse_request(R"({"id":3,"op":"mkfs","args":{"fstype":"ext4"},"upload":true})", &id);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->num_id, 3u);
  EXPECT_EQ(r->op, "mkfs");
  EXPECT_TRUE(r->upload);
  EXPECT_EQ(r->args["fstype"], "ext4");
  EXPECT_FALSE(parse_request("{", &id));
  EXPECT_FALSE(parse_request("[]", &id));
  EXPECT_FALSE(parse_request(R"({"op":"x"})", &id));
  auto bad = parse_request(R"({"id":4,"op":"x","args":[1]})", &id);
  ASSERT_FALSE(bad);
  EXPECT_EQ(id, 4);
  auto c = parse_request(R"({"id":5,"cancel":true})", &id);
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->cancel);
  EXPECT_EQ(decode_payload("Q").kind, FrameKind::Bad);
  EXPECT_EQ(decode_payload("Dshort").kind, FrameKind::Bad);
}

TEST(ProtoReply, Shapes) {
  EXPECT_EQ(make_error_reply(1, Error{ENOENT, "x"}).dump(), R"({"error":{"errno":2,"message":"x"},"id":1})");
  EXPECT_EQ(make_progress(2, 5, 10).dump(), R"({"id":2,"progress":{"done":5,"total":10}})");
}

TEST(ProtoReply, HostileRepliesNeverThrow) {
  using nlohmann::json;
  EXPECT_TRUE(reply_has_id(json{{"id", 7}}, 7));
  for (const json& bad : {json{{"id", "7"}}, json{{"id", -7}}, json{{"id", 7.5}}, json(7), json::array(), json()})
    EXPECT_FALSE(reply_has_id(bad, 7)) << bad.dump();
  Error e = reply_error(json{{"errno", 2}, {"message", "gone"}}, "fb");
  EXPECT_EQ(e.code, 2);
  EXPECT_EQ(e.message, "gone");
  for (const json& bad : {json{{"errno", "2"}}, json{{"errno", -1}}, json{{"errno", 1 << 20}}, json{{"errno", 2.5}},
                          json("x"), json::array(), json()}) {
    Error b = reply_error(bad, "fallback");
    EXPECT_EQ(b.code, EIO) << bad.dump();
    EXPECT_EQ(b.message, "fallback") << bad.dump();
  }
}

}  // namespace
}  // namespace dk::proto
