// Library side of `diskit resize`: change an image's virtual size safely.
#pragma once

#include <cstdint>
#include <string_view>

#include "formats/core/error.h"
#include "formats/layer.h"

namespace dk::fmt::maint {

// How the grown part of an image is backed on the host (qemu-img's
// --preallocation for resize).
enum class Prealloc : uint8_t { Off, Falloc, Full };

// Parses "off", "falloc" or "full"; qemu-img's messages otherwise.
Result<Prealloc> parse_resize_prealloc(std::string_view text);

// Sets `layer`'s virtual size to new_size and makes the result stable on
// disk before returning (Layer::flush). Shrinking needs shrink_allowed; with
// a preallocation mode other than Off the new range [old size, new_size) is
// written with zeroes so the host space is allocated (growing only).
// On error the image keeps its old size or the driver's own consistent state.
Result<void> resize_image(Layer& layer, uint64_t new_size, bool shrink_allowed, Prealloc prealloc);

}  // namespace dk::fmt::maint
