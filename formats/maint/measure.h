// Library side of `diskit measure`: the file size a new image needs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "formats/core/error.h"
#include "formats/layer.h"

namespace dk::fmt::maint {

// Target format and the creation options that change its size.
struct MeasureTarget {
  std::string format = "raw";       // raw or qcow2
  uint64_t cluster_size = 65536;    // qcow2
  uint32_t refcount_bits = 16;      // qcow2
  bool extended_l2 = false;         // qcow2
  bool v3 = true;                   // qcow2 compat=1.1 (bitmaps need it)
  bool prealloc_all = false;        // preallocation=falloc|full: data counted whole
};

struct MeasureInfo {
  uint64_t required = 0;
  uint64_t fully_allocated = 0;
  std::optional<uint64_t> bitmaps;  // qcow2 v3 target from a qcow2 input
};

// qemu-img 7.2's measure: for `input` (the top of an opened chain; may be
// null, then `size` is the virtual size) the bytes a new image of `target`
// needs now (required: metadata for the full size plus the clusters holding
// data, found by block status through the chain) and fully allocated.
Result<MeasureInfo> measure_image(Layer* input, uint64_t size, const MeasureTarget& target);

}  // namespace dk::fmt::maint
