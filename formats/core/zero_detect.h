// Fast detection of all-zero buffers (sparse output in convert, compare,
// zero-cluster detection in drivers).
#pragma once

#include <cstddef>
#include <span>

namespace dk {

// True when every byte of buf is zero (an empty buffer is zero). Uses AVX2
// when the CPU has it, SSE2 otherwise; checks a few bytes at both ends first
// because real data is rarely zero there, so most data buffers are rejected
// without scanning.
bool buffer_is_zero(std::span<const std::byte> buf);

// The portable byte-wise version (reference for tests and benchmarks).
bool buffer_is_zero_scalar(std::span<const std::byte> buf);

// Length of the prefix of buf made of whole all-zero granules of `granule`
// bytes (the last granule may be shorter when buf ends). granule > 0.
size_t zero_prefix(std::span<const std::byte> buf, size_t granule);
// Length of the prefix of buf made of whole granules that each contain at
// least one non-zero byte (the last granule may be shorter).
size_t data_prefix(std::span<const std::byte> buf, size_t granule);

}  // namespace dk
