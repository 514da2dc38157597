// Fuzz target for the QED header and table parsers: the input is an image
// file, opened read-only with the qed driver; everything is read (bounded),
// block status walked over the whole disk, and format_specific() called.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "formats/qed/qed.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int fd = ::memfd_create("fuzz_qed", MFD_CLOEXEC);
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
  auto layer = dk::fmt::qed::open_qed(path, opts);
  if (layer) {
    dk::fmt::Layer& l = **layer;
    (void)l.format_specific();
    (void)l.backing_filename();
    // Bounded: at most 64 MiB of guest data and 4096 status calls.
    const uint64_t limit = std::min<uint64_t>(l.size(), 64u << 20);
    std::vector<std::byte> buf(1u << 20);
    for (uint64_t off = 0; off < limit; off += buf.size()) {
      const uint64_t n = std::min<uint64_t>(buf.size(), limit - off);
      if (!l.read(off, std::span(buf).first(n))) break;
    }
    uint64_t off = 0;
    for (int i = 0; i < 4096 && off < l.size(); i++) {
      auto st = l.block_status(off, l.size() - off);
      if (!st) break;
      off += st->length;
    }
  }
  ::close(fd);
  return 0;
}
