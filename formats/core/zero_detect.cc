// Vectorised zero detection with runtime dispatch: the kernels OR-reduce
// 128 (AVX2) or 64 (SSE2) bytes per iteration and test the accumulator once
// per iteration, so the loop is load-bound, not branch-bound.
#include "formats/core/zero_detect.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define DK_ZERO_X86 1
#endif

namespace dk {

namespace {

// Word-at-a-time fallback for short buffers and the unaligned edges.
bool small_is_zero(const unsigned char* p, size_t n) {
  uint64_t acc = 0;
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    acc |= w;
    p += 8;
    n -= 8;
  }
  while (n--) acc |= *p++;
  return acc == 0;
}

#ifdef DK_ZERO_X86
// n >= 64. The unaligned head and tail are checked with unaligned loads, the
// middle with aligned ones.
bool sse2_is_zero(const unsigned char* p, size_t n) {
  const __m128i zero = _mm_setzero_si128();
  __m128i acc = _mm_or_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)),
                             _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + n - 16)));
  if (_mm_movemask_epi8(_mm_cmpeq_epi8(acc, zero)) != 0xffff) return false;
  const unsigned char* q = reinterpret_cast<const unsigned char*>((reinterpret_cast<uintptr_t>(p) + 16) & ~uintptr_t(15));
  const unsigned char* end = p + n;
  for (; q + 64 <= end; q += 64) {
    const __m128i* v = reinterpret_cast<const __m128i*>(q);
    __m128i a = _mm_or_si128(_mm_load_si128(v), _mm_load_si128(v + 1));
    __m128i b = _mm_or_si128(_mm_load_si128(v + 2), _mm_load_si128(v + 3));
    if (_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_or_si128(a, b), zero)) != 0xffff) return false;
  }
  for (; q + 16 <= end; q += 16)
    if (_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_load_si128(reinterpret_cast<const __m128i*>(q)), zero)) != 0xffff)
      return false;
  return small_is_zero(q, end - q);
}

// n >= 128.
__attribute__((target("avx2"))) bool avx2_is_zero(const unsigned char* p, size_t n) {
  __m256i acc = _mm256_or_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)),
                                _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + n - 32)));
  if (!_mm256_testz_si256(acc, acc)) return false;
  const unsigned char* q = reinterpret_cast<const unsigned char*>((reinterpret_cast<uintptr_t>(p) + 32) & ~uintptr_t(31));
  const unsigned char* end = p + n;
  for (; q + 128 <= end; q += 128) {
    const __m256i* v = reinterpret_cast<const __m256i*>(q);
    __m256i a = _mm256_or_si256(_mm256_load_si256(v), _mm256_load_si256(v + 1));
    __m256i b = _mm256_or_si256(_mm256_load_si256(v + 2), _mm256_load_si256(v + 3));
    a = _mm256_or_si256(a, b);
    if (!_mm256_testz_si256(a, a)) return false;
  }
  // The tail (< 128 bytes) was partly covered by the unaligned load above;
  // finish it with an unaligned 32-byte walk plus the byte remainder.
  for (; q + 32 <= end; q += 32) {
    __m256i a = _mm256_load_si256(reinterpret_cast<const __m256i*>(q));
    if (!_mm256_testz_si256(a, a)) return false;
  }
  return small_is_zero(q, end - q);
}

using ZeroFn = bool (*)(const unsigned char*, size_t);

ZeroFn pick_kernel() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) return avx2_is_zero;
  return sse2_is_zero;
}

const ZeroFn kLargeKernel = pick_kernel();
#endif

bool is_zero(const unsigned char* p, size_t n) {
  if (n < 128) return small_is_zero(p, n);
  // Early-out: data almost always has a non-zero byte in its first or last
  // 16 bytes.
  uint64_t w[4];
  std::memcpy(w, p, 16);
  std::memcpy(w + 2, p + n - 16, 16);
  if (w[0] | w[1] | w[2] | w[3]) return false;
#ifdef DK_ZERO_X86
  return kLargeKernel(p, n);
#else
  return small_is_zero(p, n);
#endif
}

}  // namespace

bool buffer_is_zero(std::span<const std::byte> buf) {
  return is_zero(reinterpret_cast<const unsigned char*>(buf.data()), buf.size());
}

bool buffer_is_zero_scalar(std::span<const std::byte> buf) {
  for (std::byte b : buf)
    if (b != std::byte{0}) return false;
  return true;
}

size_t zero_prefix(std::span<const std::byte> buf, size_t granule) {
  size_t off = 0;
  while (off < buf.size()) {
    size_t n = std::min(granule, buf.size() - off);
    if (!buffer_is_zero(buf.subspan(off, n))) break;
    off += n;
  }
  return off;
}

size_t data_prefix(std::span<const std::byte> buf, size_t granule) {
  size_t off = 0;
  while (off < buf.size()) {
    size_t n = std::min(granule, buf.size() - off);
    if (buffer_is_zero(buf.subspan(off, n))) break;
    off += n;
  }
  return off;
}

}  // namespace dk
