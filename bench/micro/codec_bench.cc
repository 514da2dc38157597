// Compressing and decompressing one 64 KiB cluster the way qcow2 stores it:
// zlib raw deflate (window 2^12, as QEMU) and zstd (default level), on
// compressible text and on random bytes.
#include <benchmark/benchmark.h>
#include <zlib.h>
#include <zstd.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr size_t kCluster = 64 * 1024;

std::vector<uint8_t> make_input(bool text) {
  std::vector<uint8_t> v(kCluster);
  std::mt19937 rng(42);
  if (!text) {
    for (auto& b : v) b = static_cast<uint8_t>(rng());
    return v;
  }
  static const char* words[] = {"disk ", "image ", "cluster ", "qcow2 ", "backing ", "refcount ", "table ",
                                "offset ", "sector ", "the ", "of ", "and ", "zero ", "data\n"};
  size_t i = 0;
  while (i < v.size()) {
    const char* w = words[rng() % 14];
    for (const char* p = w; *p && i < v.size(); ++p) v[i++] = static_cast<uint8_t>(*p);
  }
  return v;
}

size_t deflate_raw(const uint8_t* in, size_t n, uint8_t* out, size_t cap) {
  z_stream s{};
  deflateInit2(&s, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9, Z_DEFAULT_STRATEGY);
  s.next_in = const_cast<uint8_t*>(in);
  s.avail_in = static_cast<uInt>(n);
  s.next_out = out;
  s.avail_out = static_cast<uInt>(cap);
  int r = deflate(&s, Z_FINISH);
  size_t len = r == Z_STREAM_END ? cap - s.avail_out : 0;
  deflateEnd(&s);
  return len;
}

void inflate_raw(const uint8_t* in, size_t n, uint8_t* out, size_t cap) {
  z_stream s{};
  inflateInit2(&s, -12);
  s.next_in = const_cast<uint8_t*>(in);
  s.avail_in = static_cast<uInt>(n);
  s.next_out = out;
  s.avail_out = static_cast<uInt>(cap);
  inflate(&s, Z_FINISH);
  inflateEnd(&s);
}

void BM_Deflate(benchmark::State& state) {
  auto in = make_input(state.range(0));
  std::vector<uint8_t> out(kCluster * 2);
  size_t len = 0;
  for (auto _ : state) benchmark::DoNotOptimize(len = deflate_raw(in.data(), in.size(), out.data(), out.size()));
  state.SetBytesProcessed(int64_t(state.iterations()) * kCluster);
  state.counters["ratio"] = double(len) / kCluster;
}
BENCHMARK(BM_Deflate)->Arg(1)->Arg(0)->ArgName("text");

void BM_Inflate(benchmark::State& state) {
  auto in = make_input(true);
  std::vector<uint8_t> comp(kCluster * 2), out(kCluster);
  size_t len = deflate_raw(in.data(), in.size(), comp.data(), comp.size());
  for (auto _ : state) {
    inflate_raw(comp.data(), len, out.data(), out.size());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * kCluster);
}
BENCHMARK(BM_Inflate);

void BM_ZstdCompress(benchmark::State& state) {
  auto in = make_input(state.range(0));
  std::vector<uint8_t> out(ZSTD_compressBound(kCluster));
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  size_t len = 0;
  for (auto _ : state)
    benchmark::DoNotOptimize(len = ZSTD_compressCCtx(cctx, out.data(), out.size(), in.data(), in.size(), ZSTD_CLEVEL_DEFAULT));
  ZSTD_freeCCtx(cctx);
  state.SetBytesProcessed(int64_t(state.iterations()) * kCluster);
  state.counters["ratio"] = double(len) / kCluster;
}
BENCHMARK(BM_ZstdCompress)->Arg(1)->Arg(0)->ArgName("text");

void BM_ZstdDecompress(benchmark::State& state) {
  auto in = make_input(true);
  std::vector<uint8_t> comp(ZSTD_compressBound(kCluster)), out(kCluster);
  size_t len = ZSTD_compress(comp.data(), comp.size(), in.data(), in.size(), ZSTD_CLEVEL_DEFAULT);
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  for (auto _ : state) {
    benchmark::DoNotOptimize(ZSTD_decompressDCtx(dctx, out.data(), out.size(), comp.data(), len));
    benchmark::ClobberMemory();
  }
  ZSTD_freeDCtx(dctx);
  state.SetBytesProcessed(int64_t(state.iterations()) * kCluster);
}
BENCHMARK(BM_ZstdDecompress);

}  // namespace
