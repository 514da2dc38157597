// Zero detection on 64 KiB buffers (one qcow2 cluster): the all-zero case
// scans everything, the data case should stop at the first bytes.
#include <benchmark/benchmark.h>

#include <vector>

#include "formats/core/zero_detect.h"

namespace {

constexpr size_t kLen = 64 * 1024;

void BM_ZeroDetect_Zero(benchmark::State& state) {
  std::vector<std::byte> buf(kLen);
  for (auto _ : state) benchmark::DoNotOptimize(dk::buffer_is_zero(buf));
  state.SetBytesProcessed(int64_t(state.iterations()) * kLen);
}
BENCHMARK(BM_ZeroDetect_Zero);

void BM_ZeroDetect_Scalar_Zero(benchmark::State& state) {
  std::vector<std::byte> buf(kLen);
  for (auto _ : state) benchmark::DoNotOptimize(dk::buffer_is_zero_scalar(buf));
  state.SetBytesProcessed(int64_t(state.iterations()) * kLen);
}
BENCHMARK(BM_ZeroDetect_Scalar_Zero);

void BM_ZeroDetect_NonZero(benchmark::State& state) {
  std::vector<std::byte> buf(kLen, std::byte{0x5a});
  for (auto _ : state) benchmark::DoNotOptimize(dk::buffer_is_zero(buf));
  state.SetBytesProcessed(int64_t(state.iterations()) * kLen);
}
BENCHMARK(BM_ZeroDetect_NonZero);

// Worst case for the early-out: data only at the very middle.
void BM_ZeroDetect_MiddleByte(benchmark::State& state) {
  std::vector<std::byte> buf(kLen);
  buf[kLen / 2] = std::byte{1};
  for (auto _ : state) benchmark::DoNotOptimize(dk::buffer_is_zero(buf));
  state.SetBytesProcessed(int64_t(state.iterations()) * kLen);
}
BENCHMARK(BM_ZeroDetect_MiddleByte);

}  // namespace
