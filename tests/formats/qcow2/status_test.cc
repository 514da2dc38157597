// block_status against `qemu-img map --output=json` (single images, no backing).
#include "tests/formats/qcow2/helpers.h"

namespace dk::fmt::qcow2test {
namespace {

struct Run {
  uint64_t start, length;
  bool data, zero, present;
  std::optional<uint64_t> offset;
  bool operator==(const Run&) const = default;
};

std::ostream& operator<<(std::ostream& o, const Run& r) {
  o << "{" << r.start << "+" << r.length << " d" << r.data << " z" << r.zero << " p" << r.present;
  if (r.offset) o << " @" << *r.offset;
  return o << "}";
}

void push(std::vector<Run>& v, Run r) {
  if (!v.empty()) {
    Run& b = v.back();
    bool contiguous = b.offset.has_value() == r.offset.has_value() && (!b.offset || *b.offset + b.length == *r.offset);
    if (b.data == r.data && b.zero == r.zero && b.present == r.present && contiguous) {
      b.length += r.length;
      return;
    }
  }
  v.push_back(r);
}

std::vector<Run> ours(Layer& l) {
  std::vector<Run> v;
  for (uint64_t off = 0; off < l.size();) {
    auto e = l.block_status(off, l.size() - off);
    EXPECT_TRUE(e);
    if (!e) break;
    Run r{off, e->length, e->data(), e->zero() || !e->allocated(), e->allocated(), std::nullopt};
    if (e->offset_valid()) r.offset = e->offset;
    push(v, r);
    off += e->length;
  }
  return v;
}

std::vector<Run> theirs(const std::string& img) {
  auto j = nlohmann::json::parse(sh_out("qemu-img map -U --output=json " + img));
  std::vector<Run> v;
  for (auto& e : j) {
    Run r{e["start"], e["length"], e["data"], e["zero"], e["present"], std::nullopt};
    if (e.contains("offset")) r.offset = e["offset"].get<uint64_t>();
    push(v, r);
  }
  return v;
}

TEST(Qcow2Status, MatchesQemuMap) {
  REQUIRE_QEMU();
  const char* io =
      "-c 'write -P 0xab 1234 5000' -c 'write -P 0x11 65536 65536' -c 'write -z 70000 3000' "
      "-c 'write -z 262144 131072' -c 'write -P 0x22 4000000 300000' -c 'discard 4194304 65536' "
      "-c 'write -z -u 6291456 65536'";
  const char* opts[] = {"", "-o compat=0.10", "-o extended_l2=on", "-o preallocation=metadata",
                        "-o preallocation=metadata,extended_l2=on", "-o cluster_size=4k,refcount_bits=1"};
  for (const char* o : opts) {
    SCOPED_TRACE(o);
    TempDir d;
    std::string img = d / "s.qcow2";
    ASSERT_EQ(sh(std::string("qemu-img create -q -f qcow2 ") + o + " " + img + " 8M"), 0);
    ASSERT_EQ(sh("qemu-io -f qcow2 " + std::string(io) + " " + img + " >/dev/null"), 0);
    auto l = open_q(img);
    ASSERT_TRUE(l);
    auto a = ours(*l), b = theirs(img);
    EXPECT_EQ(a, b);
  }
  // Compressed clusters: data without an offset.
  TempDir d;
  std::string src = d / "src.raw", img = d / "c.qcow2";
  ASSERT_EQ(sh("yes hello | head -c 1048576 > " + src), 0);
  ASSERT_EQ(sh("qemu-img convert -c -O qcow2 " + src + " " + img), 0);
  auto l = open_q(img);
  ASSERT_TRUE(l);
  EXPECT_EQ(ours(*l), theirs(img));
}

}  // namespace
}  // namespace dk::fmt::qcow2test
