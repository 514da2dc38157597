// Fuzz target: the input as a qcow2 file, opened read-only with the qcow2
// driver (no backing chain), then read, mapped and described.
#include <cstddef>
#include <cstdint>

#include "formats/driver.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static dk::fuzz::InputFile file("fuzz_qcow2");
  static const dk::fmt::FormatDriver* qcow2 = dk::fmt::find_driver("qcow2");
  if (!qcow2 || !file.set(data, size)) return 0;
  dk::fmt::OpenOptions opts;
  opts.force_share = true;
  auto layer = qcow2->open(file.path(), opts);
  if (!layer) return 0;
  dk::fuzz::exercise(**layer);
  return 0;
}
