// Fuzz target: the text descriptor parser on its own.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "formats/vmdk/descriptor.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto d = dk::fmt::vmdk::parse_descriptor(text, "fuzz");
  if (d) (void)d->ddb_value("ddb.adapterType");
  return 0;
}
