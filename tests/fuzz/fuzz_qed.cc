// Fuzz target: the input as a qed file, opened read-only with the qed driver
// (no backing chain), then read, mapped and described.
#include <cstddef>
#include <cstdint>

#include "formats/driver.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static dk::fuzz::InputFile file("fuzz_qed");
  static const dk::fmt::FormatDriver* driver = dk::fmt::find_driver("qed");
  if (!driver || !file.set(data, size)) return 0;
  dk::fmt::OpenOptions opts;
  opts.force_share = true;
  auto layer = driver->open(file.path(), opts);
  if (!layer) return 0;
  dk::fuzz::exercise(**layer);
  return 0;
}
