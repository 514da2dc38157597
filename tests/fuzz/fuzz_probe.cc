// Fuzz target: every driver's probe() on arbitrary bytes (the first bytes of
// a file), then probe_file() on the same bytes as a file.
#include <cstddef>
#include <cstdint>
#include <span>

#include "formats/driver.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static dk::fuzz::InputFile file("fuzz_probe");
  std::span<const std::byte> head(reinterpret_cast<const std::byte*>(data), size);
  for (const dk::fmt::FormatDriver* d : dk::fmt::all_drivers()) {
    int score = d->probe(head, "fuzz.img");
    if (score < 0 || score > 100) __builtin_trap();  // contract: 0..100
  }
  if (file.set(data, size)) (void)dk::fmt::probe_file(file.path());
  return 0;
}
