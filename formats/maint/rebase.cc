#include "formats/maint/rebase.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace dk::fmt::maint {
namespace {

constexpr uint64_t kChunk = 1u << 20;  // bytes compared at once
constexpr uint64_t kSector = 512;      // granularity of the differences copied

// Reads [off, off+out.size()) of `layer` (or zeroes when null), zero past its end.
Result<void> read_or_zero(Layer* layer, uint64_t off, std::span<std::byte> out) {
  uint64_t in = 0;
  if (layer && off < layer->size()) in = std::min<uint64_t>(out.size(), layer->size() - off);
  if (in) DK_TRY(layer->read(off, out.first(static_cast<size_t>(in))));
  std::memset(out.data() + in, 0, out.size() - in);
  return {};
}

// Writes the sectors of `old_data` that differ from `new_data` into `top` at
// `off`, merging adjacent differing sectors into one write.
Result<void> write_differences(Layer& top, uint64_t off, std::span<const std::byte> old_data,
                               std::span<const std::byte> new_data) {
  size_t i = 0;
  while (i < old_data.size()) {
    size_t n = std::min<size_t>(kSector, old_data.size() - i);
    if (std::memcmp(old_data.data() + i, new_data.data() + i, n) == 0) {
      i += n;
      continue;
    }
    size_t start = i;
    while (i < old_data.size()) {
      n = std::min<size_t>(kSector, old_data.size() - i);
      if (std::memcmp(old_data.data() + i, new_data.data() + i, n) == 0) break;
      i += n;
    }
    DK_TRY(top.write(off + start, old_data.subspan(start, i - start)));
  }
  return {};
}

}  // namespace

Result<void> copy_backing_differences(Layer& top, Layer* new_base,
                                      const std::function<void(double)>& progress) {
  const uint64_t size = top.size();
  std::vector<std::byte> old_buf(static_cast<size_t>(std::min<uint64_t>(kChunk, size)));
  std::vector<std::byte> new_buf(old_buf.size());
  uint64_t off = 0;
  while (off < size) {
    // Only ranges the overlay leaves to its backing file can change.
    Extent e = DK_TRY(top.block_status(off, std::min<uint64_t>(kChunk, size - off)));
    uint64_t n = std::min<uint64_t>(e.length, size - off);
    if (!e.allocated()) {
      auto old_data = std::span(old_buf).first(static_cast<size_t>(n));
      auto new_data = std::span(new_buf).first(static_cast<size_t>(n));
      DK_TRY(read_or_zero(top.backing(), off, old_data));
      DK_TRY(read_or_zero(new_base, off, new_data));
      DK_TRY(write_differences(top, off, old_data, new_data));
    }
    off += n;
    if (progress) progress(static_cast<double>(off) / static_cast<double>(size));
  }
  return top.flush();
}

}  // namespace dk::fmt::maint
