// Fuzz target: the input as an ext2/3/4 file system opened read-only
// through libext2fs and the diskit io_manager, then walked (bounded):
// readdir, stat, readlink, reads of the first bytes of each file, statvfs,
// and path resolution through symlinks.
#include <cstddef>
#include <cstdint>

#include "formats/chain.h"
#include "fs/ext/ext.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static dk::fuzz::InputFile file("fuzz_ext");
  if (!file.set(data, size)) return 0;
  dk::fmt::OpenOptions opts;
  opts.force_share = true;
  auto layer = dk::fmt::open_image(file.path(), "raw", opts);
  if (!layer) return 0;
  dk::fs::ExtOpenOptions eo;
  eo.warn = [](const std::string&) {};
  auto fs = dk::fs::open_ext(std::move(*layer), eo);
  if (!fs) return 0;
  (void)(*fs)->statvfs();
  dk::fuzz::walk_filesystem(**fs, "/etc/../bin/sh");
  return 0;
}
