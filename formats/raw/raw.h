// The raw format: the image file is the guest disk, byte for byte. Other
// drivers (vmdk flat extents, filters, tests) may open a raw layer directly.
#pragma once

#include <memory>
#include <string>

#include "formats/core/error.h"
#include "formats/driver.h"
#include "formats/layer.h"

namespace dk::fmt {

// Opens `path` as a raw image (a regular file or a block device) and takes
// QEMU-compatible locks on it.
Result<std::unique_ptr<Layer>> open_raw(const std::string& path, const OpenOptions& opts);

// Creates (or truncates) `path` as a raw image of spec.size bytes (rounded up
// to 512) honouring -o preallocation/extent_size_hint/nocow like QEMU 7.2.
Result<void> create_raw(const std::string& path, const CreateSpec& spec);

}  // namespace dk::fmt
