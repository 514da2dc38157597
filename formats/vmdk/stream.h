// Helpers shared by the stream extent and image creation.
#pragma once

#include <cstdint>
#include <span>

#include "formats/core/file.h"
#include "formats/vmdk/format.h"

namespace dk::fmt::vmdk {

// Writes the end of a VMware-layout stream at byte `at`: GD marker and grain
// directory, footer marker, footer (a copy of h with gdOffset filled in),
// end-of-stream marker; truncates the file after it. Returns the new size.
Result<uint64_t> write_stream_end(File& f, const SparseExtentHeader& h, std::span<const uint32_t> gd, uint64_t at);

}  // namespace dk::fmt::vmdk
