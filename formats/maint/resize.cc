#include "formats/maint/resize.h"

#include <algorithm>
#include <string>
#include <vector>

namespace dk::fmt::maint {

Result<Prealloc> parse_resize_prealloc(std::string_view text) {
  if (text == "off") return Prealloc::Off;
  if (text == "falloc") return Prealloc::Falloc;
  if (text == "full") return Prealloc::Full;
  if (text == "metadata") return make_error(ENOTSUP, "Unsupported preallocation mode: metadata");
  return make_error(EINVAL, "Invalid preallocation mode '" + std::string(text) + "'");
}

namespace {

// Writes zero data over [off, end) so every byte there is allocated on the
// host; a write (not write_zeroes) because write_zeroes may leave holes.
Result<void> fill_zero_data(Layer& layer, uint64_t off, uint64_t end) {
  constexpr uint64_t kChunk = 1u << 20;
  std::vector<std::byte> zero(static_cast<size_t>(std::min<uint64_t>(kChunk, end - off)));
  while (off < end) {
    uint64_t n = std::min<uint64_t>(zero.size(), end - off);
    DK_TRY(layer.write(off, std::span<const std::byte>(zero).first(static_cast<size_t>(n))));
    off += n;
  }
  return {};
}

}  // namespace

Result<void> resize_image(Layer& layer, uint64_t new_size, bool shrink_allowed, Prealloc prealloc) {
  const uint64_t old_size = layer.size();
  if (new_size < old_size && prealloc != Prealloc::Off)
    return make_error(EINVAL, "Preallocation can only be used for growing images");
  DK_TRY(layer.truncate(new_size, shrink_allowed));
  // The driver may round the size (raw to sectors); preallocate what it has.
  if (prealloc != Prealloc::Off && layer.size() > old_size)
    DK_TRY(fill_zero_data(layer, old_size, layer.size()));
  // Success is reported only once the new size and its metadata are stable.
  return layer.flush();
}

}  // namespace dk::fmt::maint
