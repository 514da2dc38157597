// Fuzz target: the input is a VMDK file (sparse/stream header, grain
// directory and tables, or a text descriptor) opened read-only; everything
// readable is read (bounded), block status walked, info data built.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "formats/driver.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int fd = memfd_create("fuzz_vmdk", 0);
  if (fd < 0) return 0;
  if (write(fd, data, size) != static_cast<ssize_t>(size)) {
    close(fd);
    return 0;
  }
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  dk::fmt::OpenOptions o;
  o.force_share = true;
  auto l = dk::fmt::find_driver("vmdk")->open(path, o);
  if (l) {
    dk::fmt::Layer& layer = **l;
    (void)layer.format_specific().dump();
    std::vector<std::byte> buf(64 * 1024);
    uint64_t off = 0;
    // Bounded: at most 256 requests of block status and reads.
    for (int i = 0; i < 256 && off < layer.size(); ++i) {
      auto st = layer.block_status(off, layer.size() - off);
      if (!st) break;
      const size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), layer.size() - off));
      (void)layer.read(off, std::span(buf).first(n));
      off += st->length;
    }
  }
  close(fd);
  return 0;
}
