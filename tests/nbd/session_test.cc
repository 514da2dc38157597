// Unit tests of the NBD wire encoding and of one Session driven over an
// in-memory transport against a mock image.
#include <gtest/gtest.h>

#include <cstring>

#include "formats/core/endian.h"
#include "nbd/export.h"
#include "nbd/protocol.h"
#include "nbd/session.h"
#include "nbd/transport.h"
#include "tests/formats/mock_layer.h"

namespace dk::nbd {
namespace {

using fmt::testing::MockLayer;

// Builds the bytes a client sends.
struct ClientBytes {
  std::vector<std::byte> b;
  void u16(uint16_t v) { size_t n = b.size(); b.resize(n + 2); store_be16(b.data() + n, v); }
  void u32(uint32_t v) { size_t n = b.size(); b.resize(n + 4); store_be32(b.data() + n, v); }
  void u64(uint64_t v) { size_t n = b.size(); b.resize(n + 8); store_be64(b.data() + n, v); }
  void str(std::string_view s) { for (char c : s) b.push_back(std::byte(c)); }
  void option(uint32_t opt, const std::vector<std::byte>& data = {}) {
    u64(kIHaveOpt); u32(opt); u32(static_cast<uint32_t>(data.size()));
    b.insert(b.end(), data.begin(), data.end());
  }
  void go(std::string_view name = "") {
    ClientBytes d; d.u32(static_cast<uint32_t>(name.size())); d.str(name); d.u16(0);
    option(NBD_OPT_GO, d.b);
  }
  void meta(std::string_view q) {
    ClientBytes d; d.u32(0); d.u32(1); d.u32(static_cast<uint32_t>(q.size())); d.str(q);
    option(NBD_OPT_SET_META_CONTEXT, d.b);
  }
  void request(uint16_t type, uint64_t off, uint32_t len, uint16_t flags = 0, uint64_t cookie = 1) {
    Request r{NBD_REQUEST_MAGIC, flags, type, cookie, off, len};
    std::array<std::byte, kRequestSize> raw;
    encode_request(r, raw);
    b.insert(b.end(), raw.begin(), raw.end());
  }
};

// Reads what the server sent.
struct ServerBytes {
  const std::vector<std::byte>& b;
  size_t pos = 0;
  uint16_t u16() { uint16_t v = load_be16(b.data() + pos); pos += 2; return v; }
  uint32_t u32() { uint32_t v = load_be32(b.data() + pos); pos += 4; return v; }
  uint64_t u64() { uint64_t v = load_be64(b.data() + pos); pos += 8; return v; }
  std::vector<std::byte> take(size_t n) {
    std::vector<std::byte> v(b.begin() + static_cast<long>(pos), b.begin() + static_cast<long>(pos + n));
    pos += n;
    return v;
  }
  size_t left() const { return b.size() - pos; }
  void greeting() {
    ASSERT_GE(left(), 18u);
    EXPECT_EQ(u64(), kNbdMagic);
    EXPECT_EQ(u64(), kIHaveOpt);
    EXPECT_EQ(u16(), NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
  }
  // One option reply: (type, data).
  std::pair<uint32_t, std::vector<std::byte>> reply(uint32_t opt) {
    EXPECT_EQ(u64(), kOptReplyMagic);
    EXPECT_EQ(u32(), opt);
    uint32_t type = u32();
    uint32_t len = u32();
    return {type, take(len)};
  }
  // GO replies up to the ACK; returns the export size.
  uint64_t go_replies(uint16_t* flags = nullptr) {
    uint64_t size = 0;
    for (;;) {
      auto [type, data] = reply(NBD_OPT_GO);
      if (type == NBD_REP_ACK) return size;
      EXPECT_EQ(type, NBD_REP_INFO);
      if (load_be16(data.data()) == NBD_INFO_EXPORT) {
        size = load_be64(data.data() + 2);
        if (flags) *flags = load_be16(data.data() + 10);
      }
    }
  }
  uint32_t simple(uint64_t cookie = 1) {
    EXPECT_EQ(u32(), NBD_SIMPLE_REPLY_MAGIC);
    uint32_t err = u32();
    EXPECT_EQ(u64(), cookie);
    return err;
  }
  struct Chunk { uint16_t flags, type; std::vector<std::byte> payload; };
  Chunk chunk() {
    EXPECT_EQ(u32(), NBD_STRUCTURED_REPLY_MAGIC);
    Chunk c;
    c.flags = u16();
    c.type = u16();
    u64();
    c.payload = take(u32());
    return c;
  }
};

class NbdSession : public ::testing::Test {
 protected:
  void SetUp() override {
    auto layer = std::make_unique<MockLayer>("mock", 1 << 20, true, 4096);
    m_layer = layer.get();
    m_layer->set_alloc(0, 64 << 10, MockLayer::Alloc::kData, 0xaa);
    m_layer->set_alloc(64 << 10, 64 << 10, MockLayer::Alloc::kZero);
    m_layer->set_alloc(256 << 10, 4096, MockLayer::Alloc::kData, 0xbb);
    ExportSpec spec;
    spec.description = "a disk";
    m_export = std::make_unique<Export>(spec, std::move(layer));
    m_exports = {m_export.get()};
  }
  // Runs a session on `in` and returns what the server sent.
  std::vector<std::byte> run(const ClientBytes& in, bool* ok = nullptr) {
    MemoryTransport t(in.b, 8u << 20);
    Session s(t, m_exports);
    auto r = s.run();
    if (ok) *ok = r.has_value();
    return t.output();
  }
  ClientBytes hello() {
    ClientBytes c;
    c.u32(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
    return c;
  }
  MockLayer* m_layer = nullptr;
  std::unique_ptr<Export> m_export;
  std::vector<Export*> m_exports;
};

TEST(NbdProtocol, RequestRoundTrip) {
  Request r{NBD_REQUEST_MAGIC, NBD_CMD_FLAG_FUA, NBD_CMD_WRITE, 0x1122334455667788ull, 1ull << 40, 4096};
  std::array<std::byte, kRequestSize> raw;
  encode_request(r, raw);
  EXPECT_EQ(load_be32(raw.data()), NBD_REQUEST_MAGIC);
  EXPECT_EQ(load_be16(raw.data() + 6), NBD_CMD_WRITE);
  Request d = decode_request(raw);
  EXPECT_EQ(d.flags, r.flags);
  EXPECT_EQ(d.cookie, r.cookie);
  EXPECT_EQ(d.offset, r.offset);
  EXPECT_EQ(d.length, r.length);
}

TEST(NbdProtocol, Replies) {
  std::array<std::byte, kSimpleReplySize> s;
  encode_simple_reply(NBD_EPERM, 42, s);
  EXPECT_EQ(load_be32(s.data()), NBD_SIMPLE_REPLY_MAGIC);
  EXPECT_EQ(load_be32(s.data() + 4), NBD_EPERM);
  EXPECT_EQ(load_be64(s.data() + 8), 42u);
  std::array<std::byte, kStructuredReplySize> c;
  encode_structured_reply(NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_OFFSET_HOLE, 7, 12, c);
  EXPECT_EQ(load_be32(c.data()), NBD_STRUCTURED_REPLY_MAGIC);
  EXPECT_EQ(load_be16(c.data() + 4), NBD_REPLY_FLAG_DONE);
  EXPECT_EQ(load_be16(c.data() + 6), NBD_REPLY_TYPE_OFFSET_HOLE);
  EXPECT_EQ(load_be32(c.data() + 16), 12u);
  std::array<std::byte, kOptionReplyHeaderSize> o;
  encode_option_reply(NBD_OPT_GO, NBD_REP_ERR_UNKNOWN, 5, o);
  EXPECT_EQ(load_be64(o.data()), kOptReplyMagic);
  EXPECT_EQ(load_be32(o.data() + 12), NBD_REP_ERR_UNKNOWN);
}

TEST(NbdProtocol, ErrnoMapping) {
  EXPECT_EQ(errno_to_nbd(EROFS), NBD_EPERM);
  EXPECT_EQ(errno_to_nbd(EFBIG), NBD_ENOSPC);
  EXPECT_EQ(errno_to_nbd(EINVAL), NBD_EINVAL);
  EXPECT_EQ(errno_to_nbd(ELOOP), NBD_EIO);
}

TEST(NbdProtocol, PayloadReaderStopsAtTheEnd) {
  std::array<std::byte, 5> b{std::byte{0}, std::byte{0}, std::byte{0}, std::byte{9}, std::byte{'x'}};
  PayloadReader r(b);
  EXPECT_EQ(r.be32(), 9u);
  EXPECT_FALSE(r.string(9));
  EXPECT_EQ(r.string(1), "x");
  EXPECT_FALSE(r.be16());
}

TEST_F(NbdSession, ListAndAbort) {
  ClientBytes c = hello();
  c.option(NBD_OPT_LIST);
  c.option(NBD_OPT_ABORT);
  bool ok = false;
  auto out = run(c, &ok);
  EXPECT_TRUE(ok);
  ServerBytes s{out};
  s.greeting();
  auto [t, d] = s.reply(NBD_OPT_LIST);
  EXPECT_EQ(t, NBD_REP_SERVER);
  EXPECT_EQ(load_be32(d.data()), 0u);  // the default export ""
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(d.data()) + 4, d.size() - 4), "a disk");
  EXPECT_EQ(s.reply(NBD_OPT_LIST).first, NBD_REP_ACK);
  EXPECT_EQ(s.reply(NBD_OPT_ABORT).first, NBD_REP_ACK);
  EXPECT_EQ(s.left(), 0u);
}

TEST_F(NbdSession, UnknownClientFlagsClose) {
  ClientBytes c;
  c.u32(0x80);
  bool ok = true;
  auto out = run(c, &ok);
  EXPECT_FALSE(ok);
  EXPECT_EQ(out.size(), 18u);  // the greeting only
}

TEST_F(NbdSession, SimpleReadAndWrite) {
  ClientBytes c = hello();
  c.go();
  c.request(NBD_CMD_READ, 0, 4096);
  ClientBytes w;
  w.request(NBD_CMD_WRITE, 8192, 4, NBD_CMD_FLAG_FUA, 2);
  w.str("abcd");
  c.b.insert(c.b.end(), w.b.begin(), w.b.end());
  c.request(NBD_CMD_READ, 8190, 8, 0, 3);
  c.request(NBD_CMD_DISC, 0, 0);
  bool ok = false;
  auto out = run(c, &ok);
  EXPECT_TRUE(ok);
  ServerBytes s{out};
  s.greeting();
  uint16_t flags = 0;
  EXPECT_EQ(s.go_replies(&flags), 1u << 20);
  EXPECT_TRUE(flags & NBD_FLAG_SEND_FUA);
  EXPECT_FALSE(flags & NBD_FLAG_READ_ONLY);
  EXPECT_EQ(s.simple(), 0u);
  auto data = s.take(4096);
  EXPECT_EQ(data[0], std::byte{0xaa});
  EXPECT_EQ(s.simple(2), 0u);
  EXPECT_EQ(s.simple(3), 0u);
  auto back = s.take(8);
  EXPECT_EQ(std::memcmp(back.data() + 2, "abcd", 4), 0);
  EXPECT_EQ(back[0], std::byte{0xaa});
  EXPECT_EQ(s.left(), 0u);
}

TEST_F(NbdSession, StructuredReadSendsHoles) {
  ClientBytes c = hello();
  c.option(NBD_OPT_STRUCTURED_REPLY);
  c.meta("base:allocation");
  c.go();
  c.request(NBD_CMD_READ, 60 << 10, 72 << 10);  // 4 KiB data, 64 KiB zero, 4 KiB unallocated
  c.request(NBD_CMD_BLOCK_STATUS, 0, 1 << 20, 0, 2);
  c.request(NBD_CMD_READ, 1 << 20, 1, 0, 3);  // past the end
  auto out = run(c);
  ServerBytes s{out};
  s.greeting();
  EXPECT_EQ(s.reply(NBD_OPT_STRUCTURED_REPLY).first, NBD_REP_ACK);
  auto [mt, md] = s.reply(NBD_OPT_SET_META_CONTEXT);
  EXPECT_EQ(mt, NBD_REP_META_CONTEXT);
  EXPECT_EQ(load_be32(md.data()), kBaseAllocationId);
  EXPECT_EQ(s.reply(NBD_OPT_SET_META_CONTEXT).first, NBD_REP_ACK);
  uint16_t flags = 0;
  s.go_replies(&flags);
  EXPECT_TRUE(flags & NBD_FLAG_SEND_DF);

  auto c1 = s.chunk();
  EXPECT_EQ(c1.type, NBD_REPLY_TYPE_OFFSET_DATA);
  EXPECT_EQ(c1.flags, 0);
  EXPECT_EQ(load_be64(c1.payload.data()), 60u << 10);
  EXPECT_EQ(c1.payload.size(), 8u + 4096);
  auto c2 = s.chunk();
  EXPECT_EQ(c2.type, NBD_REPLY_TYPE_OFFSET_HOLE);
  EXPECT_EQ(c2.flags, NBD_REPLY_FLAG_DONE);
  EXPECT_EQ(load_be64(c2.payload.data()), 64u << 10);
  EXPECT_EQ(load_be32(c2.payload.data() + 8), 68u << 10);

  auto bs = s.chunk();
  EXPECT_EQ(bs.type, NBD_REPLY_TYPE_BLOCK_STATUS);
  EXPECT_EQ(bs.flags, NBD_REPLY_FLAG_DONE);
  ASSERT_EQ(bs.payload.size(), 4u + 8 * 4);
  const std::byte* d = bs.payload.data() + 4;
  EXPECT_EQ(load_be32(d), 64u << 10);
  EXPECT_EQ(load_be32(d + 4), 0u);
  EXPECT_EQ(load_be32(d + 8), 192u << 10);  // zero + unallocated merge: both read as zero, no data
  EXPECT_EQ(load_be32(d + 12), NBD_STATE_HOLE | NBD_STATE_ZERO);
  EXPECT_EQ(load_be32(d + 16), 4096u);
  EXPECT_EQ(load_be32(d + 20), 0u);

  auto err = s.chunk();
  EXPECT_EQ(err.type, NBD_REPLY_TYPE_ERROR);
  EXPECT_EQ(load_be32(err.payload.data()), NBD_EINVAL);
}

TEST_F(NbdSession, ReadOnlyRefusesWrites) {
  ExportSpec spec;
  spec.read_only = true;
  Export ro(spec, std::make_unique<MockLayer>("ro", 65536, false));
  std::vector<Export*> exports{&ro};
  ClientBytes c = hello();
  c.go();
  c.request(NBD_CMD_WRITE, 0, 2);
  c.str("xy");
  c.request(NBD_CMD_TRIM, 0, 512, 0, 2);
  c.request(NBD_CMD_FLUSH, 0, 0, 0, 3);
  MemoryTransport t(c.b);
  Session session(t, exports);
  (void)session.run();
  ServerBytes s{t.output()};
  s.greeting();
  uint16_t flags = 0;
  s.go_replies(&flags);
  EXPECT_TRUE(flags & NBD_FLAG_READ_ONLY);
  EXPECT_EQ(s.simple(1), NBD_EPERM);
  EXPECT_EQ(s.simple(2), NBD_EPERM);
  EXPECT_EQ(s.simple(3), 0u);
}

TEST_F(NbdSession, ClientSlotsAreLimited) {
  ClientBytes c = hello();
  c.go();
  MemoryTransport t1(c.b);
  Session first(t1, m_exports);
  (void)first.run();  // ends at end of input, still holding its slot
  EXPECT_EQ(m_export->clients(), 1u);
  MemoryTransport t2(c.b);
  {
    Session second(t2, m_exports);
    (void)second.run();
  }
  ServerBytes s{t2.output()};
  s.greeting();
  EXPECT_EQ(s.reply(NBD_OPT_GO).first, NBD_REP_ERR_POLICY);
  EXPECT_EQ(m_export->clients(), 1u);
}

TEST_F(NbdSession, OversizedWriteCloses) {
  ClientBytes c = hello();
  c.go();
  c.request(NBD_CMD_WRITE, 0, kMaxPayload + 1);
  bool ok = true;
  auto out = run(c, &ok);
  EXPECT_FALSE(ok);
  ServerBytes s{out};
  s.greeting();
  s.go_replies();
  EXPECT_EQ(s.left(), 0u);  // no reply: the connection is dropped
}

}  // namespace
}  // namespace dk::nbd
