// Unaligned big/little-endian loads and stores for on-disk structures.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace dk {

template <class T>
inline T load_raw(const void* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline uint16_t load_be16(const void* p) { return __builtin_bswap16(load_raw<uint16_t>(p)); }
inline uint32_t load_be32(const void* p) { return __builtin_bswap32(load_raw<uint32_t>(p)); }
inline uint64_t load_be64(const void* p) { return __builtin_bswap64(load_raw<uint64_t>(p)); }
inline uint16_t load_le16(const void* p) { return load_raw<uint16_t>(p); }
inline uint32_t load_le32(const void* p) { return load_raw<uint32_t>(p); }
inline uint64_t load_le64(const void* p) { return load_raw<uint64_t>(p); }

inline void store_be16(void* p, uint16_t v) { v = __builtin_bswap16(v); std::memcpy(p, &v, sizeof v); }
inline void store_be32(void* p, uint32_t v) { v = __builtin_bswap32(v); std::memcpy(p, &v, sizeof v); }
inline void store_be64(void* p, uint64_t v) { v = __builtin_bswap64(v); std::memcpy(p, &v, sizeof v); }
inline void store_le16(void* p, uint16_t v) { std::memcpy(p, &v, sizeof v); }
inline void store_le32(void* p, uint32_t v) { std::memcpy(p, &v, sizeof v); }
inline void store_le64(void* p, uint64_t v) { std::memcpy(p, &v, sizeof v); }

}  // namespace dk
