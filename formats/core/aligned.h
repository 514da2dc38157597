// Aligned buffers and reads for O_DIRECT host I/O, shared by the drivers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "formats/core/error.h"
#include "formats/core/file.h"

namespace dk {

// The alignment every O_DIRECT bounce uses: it covers every logical block
// size (512, 4096) a host device reports.
inline constexpr uint64_t kDirectAlign = 4096;

// A heap buffer aligned to kDirectAlign (throws std::bad_alloc like
// std::vector when memory runs out).
struct AlignedBuf {
  std::byte* p = nullptr;
  explicit AlignedBuf(size_t n);
  ~AlignedBuf();
  AlignedBuf(const AlignedBuf&) = delete;
  AlignedBuf& operator=(const AlignedBuf&) = delete;
};

// O_DIRECT read of an aligned span. A short read means end of file (a retry
// at the then unaligned offset would fail with EINVAL): the rest reads as zero.
Result<void> direct_pread(const File& f, uint64_t off, std::span<std::byte> out);

}  // namespace dk
