// Overflow-checked arithmetic for sizes and offsets read from images.
#pragma once

#include <cstdint>
#include <optional>

namespace dk {

inline std::optional<uint64_t> checked_add(uint64_t a, uint64_t b) {
  uint64_t r;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}

inline std::optional<uint64_t> checked_mul(uint64_t a, uint64_t b) {
  uint64_t r;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

// True when [off, off+len) lies inside [0, limit) without overflow.
inline bool range_within(uint64_t off, uint64_t len, uint64_t limit) {
  return off <= limit && len <= limit - off;
}

inline constexpr uint64_t align_down(uint64_t v, uint64_t a) { return v / a * a; }
inline constexpr uint64_t div_round_up(uint64_t v, uint64_t a) { return v / a + (v % a != 0); }
// Caller guarantees no overflow (v <= UINT64_MAX - a).
inline constexpr uint64_t align_up(uint64_t v, uint64_t a) { return div_round_up(v, a) * a; }
inline constexpr bool is_pow2(uint64_t v) { return v && !(v & (v - 1)); }

}  // namespace dk
