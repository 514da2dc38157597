// Fuzz target: the input as an ISO 9660 image (Rock Ridge, Joliet or plain)
// opened read-only and walked (bounded): readdir, stat, readlink, reads of
// the start and end of each file, statvfs, label, and path resolution
// through symbolic links and "..".
#include <cstddef>
#include <cstdint>

#include "formats/chain.h"
#include "fs/iso9660/iso9660.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static dk::fuzz::InputFile file("fuzz_iso9660");
  if (!file.set(data, size)) return 0;
  dk::fs::ProbeResult probe;
  (void)dk::fs::identify_iso9660(std::span(data, size), probe);
  dk::fmt::OpenOptions opts;
  opts.force_share = true;
  auto layer = dk::fmt::open_image(file.path(), "raw", opts);
  if (!layer) return 0;
  auto fs = dk::fs::open_iso9660(std::move(*layer), dk::fs::IsoOpenOptions{"/dev/sda"});
  if (!fs) return 0;
  (void)(*fs)->statvfs();
  (void)(*fs)->label();
  dk::fuzz::walk_filesystem(**fs);
  return 0;
}
