// Fuzz target: the input is a VMDK file (sparse/stream header, grain
// directory and tables, or a text descriptor) opened read-only; everything
// readable is read (bounded), block status walked, info data built. The
// file lives in a private directory so extent names a descriptor lists
// resolve to missing files there, not to this process's descriptors.
#include <cstddef>
#include <cstdint>

#include "formats/driver.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static dk::fuzz::InputFile file("fuzz_vmdk", /*in_private_dir=*/true);
  static const dk::fmt::FormatDriver* driver = dk::fmt::find_driver("vmdk");
  if (!driver || !file.set(data, size)) return 0;
  dk::fmt::OpenOptions opts;
  opts.force_share = true;
  auto layer = driver->open(file.path(), opts);
  if (!layer) return 0;
  dk::fuzz::exercise(**layer);
  return 0;
}
