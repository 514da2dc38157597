// Fuzz target: the package-list parsers of inspection — dpkg status,
// pacman desc and apk installed — over arbitrary text.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fs/inspect/parse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t total = 0;
  for (auto& a : dk::fs::inspect::parse_dpkg_status(text)) total += a.name.size() + a.description.size();
  if (auto p = dk::fs::inspect::parse_pacman_desc(text)) total += p->name.size();
  for (auto& a : dk::fs::inspect::parse_apk_installed(text)) total += a.version.size();
  // The parsers keep only what the input holds.
  if (total > size * 3 + 16) __builtin_trap();
  return 0;
}
