// Library side of `diskit rebase`: change an overlay's backing file while
// keeping its guest-visible content.
#pragma once

#include <cstdint>
#include <functional>

#include "formats/core/error.h"
#include "formats/layer.h"

namespace dk::fmt::maint {

// Copies into `top` every range where the content below it (its current
// backing chain, `top.backing()`, or zeroes) differs from `new_base` (or
// zeroes when new_base is null), skipping ranges `top` allocates itself, so
// that `top` reads the same once its backing is switched to new_base. Ends
// with top.flush(): only then may the header name the new backing.
// `progress` (may be empty) receives the fraction done, 0..1.
Result<void> copy_backing_differences(Layer& top, Layer* new_base,
                                      const std::function<void(double)>& progress);

}  // namespace dk::fmt::maint
