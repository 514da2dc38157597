// Copy engine: targets with DeferredWrites get their data writes done by
// the workers; every write lands before convert_image returns, and a failed
// one is reported with its guest offset.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <vector>

#include "formats/convert/convert.h"
#include "tests/formats/convert/mem_layer.h"

namespace dk::fmt {
namespace {

using testing::MemLayer;

constexpr uint64_t kMiB = 1 << 20;

// A target that stores data in a host file at guest offset (identity).
class DeferMemLayer : public MemLayer, public DeferredWrites {
 public:
  explicit DeferMemLayer(uint64_t size) : MemLayer("t", size, true, 65536) {
    char name[] = "/tmp/dk-defer-XXXXXX";
    m_fd = ::mkstemp(name);
    ::unlink(name);
  }
  ~DeferMemLayer() override { ::close(m_fd); }
  Result<void> write_deferred(uint64_t off, std::span<const std::byte> in, std::vector<Write>& out) override {
    out.push_back(Write{bad_fd ? -1 : m_fd, off, in.data(), in.size()});
    return {};
  }
  std::vector<std::byte> file_contents() {
    std::vector<std::byte> v(size());
    EXPECT_GE(::pread(m_fd, v.data(), v.size(), 0), 0);
    return v;
  }
  bool bad_fd = false;

 private:
  int m_fd = -1;
};

TEST(ConvertDeferred, AllWritesLandBeforeReturn) {
  MemLayer src("s", 40 * kMiB + 4096, false);
  for (uint64_t off = 0; off + kMiB <= src.size(); off += 3 * kMiB) src.put_pattern(off, kMiB + 100, uint8_t(off >> 20));
  DeferMemLayer dst(src.size());
  ConvertOptions o;
  o.depth = 2;  // slots are recycled by the workers
  ASSERT_TRUE(convert_image(std::vector<Layer*>{&src}, dst, o));
  EXPECT_TRUE(dst.file_contents() == src.contents());
}

TEST(ConvertDeferred, FailedWriteNamesTheGuestOffset) {
  MemLayer src("s", 8 * kMiB, false);
  src.put_pattern(5 * kMiB, 4096, 7);
  DeferMemLayer dst(src.size());
  dst.bad_fd = true;
  auto r = convert_image(std::vector<Layer*>{&src}, dst, ConvertOptions{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message.rfind("error while writing at byte 5242880: ", 0), 0u) << r.error().message;
}

}  // namespace
}  // namespace dk::fmt
