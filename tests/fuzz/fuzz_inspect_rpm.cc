// Fuzz target: rpm header blobs as rpmdb's Packages table stores them
// (index count, data length, index entries, data), every offset hostile.
#include <cstddef>
#include <cstdint>
#include <span>

#include "fs/inspect/rpmdb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto app = dk::fs::inspect::parse_rpm_header(std::span(reinterpret_cast<const std::byte*>(data), size));
  if (app && app->name.size() > size) __builtin_trap();
  return 0;
}
