// libFuzzer target for the vdi header and block map parser: the input is
// the image file. It is opened read-only, read in full (bounded), its block
// status walked, and its metadata queried; none of it may crash or hang.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "formats/vdi/vdi.h"

namespace {

constexpr uint64_t kMaxRead = 64ull << 20;  // guest bytes read per input
constexpr int kMaxStatusCalls = 4096;

void exercise(dk::fmt::Layer& l) {
  const uint64_t size = l.size();
  std::vector<std::byte> buf(1 << 20);
  for (uint64_t off = 0; off < size && off < kMaxRead; off += buf.size()) {
    const uint64_t n = std::min<uint64_t>(buf.size(), size - off);
    if (!l.read(off, std::span(buf).first(n))) break;
  }
  uint64_t off = 0;
  for (int i = 0; off < size && i < kMaxStatusCalls; i++) {
    auto e = l.block_status(off, size - off);
    if (!e) break;
    off += e->length;
  }
  (void)l.format_specific();
  (void)l.cluster_size();
  (void)l.backing_filename();
  (void)l.actual_size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int fd = ::memfd_create("fuzz_vdi", MFD_CLOEXEC);
  if (fd < 0) return 0;
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::write(fd, data + done, size - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  dk::fmt::OpenOptions opts;
  opts.force_share = true;
  // A differencing image names a parent that must not resolve to real files.
  opts.extra["parent"] = "/nonexistent/parent.vdi";
  (void)dk::fmt::vdi::probe(std::span(reinterpret_cast<const std::byte*>(data), size), path);
  if (auto layer = dk::fmt::vdi::open_vdi(path, opts)) exercise(**layer);
  ::close(fd);
  return 0;
}
