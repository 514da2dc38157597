// Copy engine: sources that expose their data through HostMapped get it
// mapped into the chunk buffers; the output must not depend on how the
// host runs line up with pages.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "formats/convert/convert.h"
#include "tests/formats/convert/mem_layer.h"

namespace dk::fmt {
namespace {

using testing::MemLayer;

constexpr uint64_t kMiB = 1 << 20;

// A MemLayer whose data also lies in a host file at guest offset + shift;
// guest ranges in [hole_a, hole_b) answer "not mapped" (read them).
class HostMemLayer : public MemLayer, public HostMapped {
 public:
  HostMemLayer(uint64_t size, uint64_t shift, uint64_t hole_a, uint64_t hole_b)
      : MemLayer("h", size, false), m_shift(shift), m_hole_a(hole_a), m_hole_b(hole_b) {
    char name[] = "/tmp/dk-hostmap-XXXXXX";
    m_fd = ::mkstemp(name);
    ::unlink(name);
  }
  ~HostMemLayer() override { ::close(m_fd); }
  // Writes the guest bytes to the host file (call after the put*s).
  void sync() {
    auto v = contents();
    ASSERT_EQ(::pwrite(m_fd, v.data(), v.size(), static_cast<off_t>(m_shift)), static_cast<ssize_t>(v.size()));
  }
  Result<Run> host_run(uint64_t off, uint64_t len) override {
    ++calls;
    if (off < m_hole_b && off + len > m_hole_a) {
      if (off >= m_hole_a) return Run{-1, 0, std::min(len, m_hole_b - off)};
      len = m_hole_a - off;
    }
    return Run{m_fd, off + m_shift, len};
  }
  int calls = 0;

 private:
  int m_fd = -1;
  uint64_t m_shift, m_hole_a, m_hole_b;
};

// Returns the bytes the engine read from the source (not mapped).
uint64_t check_copy(uint64_t shift, uint64_t hole_a, uint64_t hole_b) {
  HostMemLayer src(9 * kMiB + 3000, shift, hole_a, hole_b);
  src.put_pattern(100, 3 * kMiB, 1);            // unaligned start
  src.put_pattern(4 * kMiB, 4 * kMiB + 777, 2);  // crosses chunks, odd end
  src.put_pattern(9 * kMiB, 3000, 3);           // the partial last page
  src.sync();
  src.log.clear();
  for (bool compress : {false, true}) {
    MemLayer dst("d", src.size(), true, 65536);
    ConvertOptions o;
    o.compress = compress;
    EXPECT_TRUE(convert_image(std::vector<Layer*>{&src}, dst, o));
    auto want = src.contents(), got = dst.contents();
    EXPECT_EQ(got.size(), want.size());
    EXPECT_TRUE(got == want) << "shift " << shift << " compress " << compress;
  }
  EXPECT_GT(src.calls, 0);
  uint64_t read = 0;
  for (const auto& r : src.log) read += r.kind == 'r' ? r.len : 0;
  return read;
}

// Two passes (plain and -c) over 7 MiB of data: only page edges are read.
TEST(ConvertHostMap, PageAlignedRunsAreMapped) { EXPECT_LT(check_copy(0, 0, 0), 64u << 10); }
TEST(ConvertHostMap, ShiftedByPages) { EXPECT_LT(check_copy(8192, 0, 0), 64u << 10); }
TEST(ConvertHostMap, MisalignedRunsAreRead) { EXPECT_GT(check_copy(100, 0, 0), 14 * kMiB); }
TEST(ConvertHostMap, UnmappedRangesAreRead) {
  uint64_t read = check_copy(4096, 2 * kMiB + 5, 5 * kMiB + 4096);
  EXPECT_GT(read, 4 * kMiB);
  EXPECT_LT(read, 8 * kMiB);
}

}  // namespace
}  // namespace dk::fmt
