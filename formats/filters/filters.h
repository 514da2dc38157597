// Filters: layers that wrap another layer (nbdkit's filters, QEMU's filter
// drivers). Each has a non-owning form (the caller keeps `inner` alive for
// the filter's lifetime) and an owning form.
//
// A filter has no backing layer of its own: its block_status answers for the
// whole chain under it (Data or Zero, never "unallocated"), so chain walks
// and `map` over a filter see depth 0.
#pragma once

#include <cstdint>
#include <memory>

#include "formats/core/error.h"
#include "formats/layer.h"

namespace dk::fmt {

// The window [offset, offset+length) of `inner` as a disk of `length` bytes
// (a partition as a disk). Writable when `inner` is. Its format name is
// "raw", like QEMU's raw driver with offset/size options. EINVAL when the
// window does not lie inside `inner`.
Result<std::unique_ptr<Layer>> make_offset_view(Layer& inner, uint64_t offset, uint64_t length);
Result<std::unique_ptr<Layer>> make_offset_view(std::unique_ptr<Layer> inner, uint64_t offset,
                                                uint64_t length);

// `inner` made read-only: writes fail with EROFS; identity and metadata
// (format name, backing name, snapshots, ...) are `inner`'s.
std::unique_ptr<Layer> make_read_only(Layer& inner);
std::unique_ptr<Layer> make_read_only(std::unique_ptr<Layer> inner);

// Where a copy-on-write overlay keeps written data: RAM (/dev/shm) or an
// unlinked temporary file ($TMPDIR, else /var/tmp, like QEMU's -snapshot).
enum class CowStorage { kMemory, kTempFile };

// A writable temporary overlay over `inner`: writes, zeroes and discards land
// in the overlay and never reach `inner` (which may be read-only); reads see
// them. Everything is dropped when the overlay is destroyed. Identity and
// metadata are `inner`'s.
Result<std::unique_ptr<Layer>> make_cow_overlay(Layer& inner, CowStorage storage);
Result<std::unique_ptr<Layer>> make_cow_overlay(std::unique_ptr<Layer> inner, CowStorage storage);

}  // namespace dk::fmt
