// qcow2 L2 lookup: block_status of one cluster of a fully allocated 4 KiB-
// cluster image (the lookup `map`, `check` and `convert` do per extent), at
// random offsets with every L2 table cached, and walking the image in order.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "formats/chain.h"
#include "formats/driver.h"
#include "formats/layer.h"

namespace {

using namespace dk::fmt;

constexpr uint64_t kClusters = 1u << 16;  // 256 MiB of 4 KiB clusters: 128 L2 tables
constexpr uint64_t kCluster = 4096;

// A temporary directory removed at exit.
struct TempDir {
  std::string path;
  TempDir() : path(std::filesystem::temp_directory_path() / "dk_l2_bench_XXXXXX") {
    if (!::mkdtemp(path.data())) std::abort();
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

// Builds the image once per process.
const std::string& image_path() {
  static const TempDir tmp;
  static const std::string path = [] {
    const std::string& dir = tmp.path;
    std::string p = dir + "/l2.qcow2";
    const FormatDriver* drv = find_driver("qcow2");
    CreateSpec spec;
    spec.size = kClusters * kCluster;
    spec.options = {{"cluster_size", "4096"}};
    if (!drv || !drv->create(p, spec)) std::abort();
    OpenOptions o;
    o.writable = true;
    auto img = open_image(p, "qcow2", o);
    if (!img) std::abort();
    std::vector<std::byte> buf(1u << 20, std::byte{0x5a});
    for (uint64_t off = 0; off < spec.size; off += buf.size())
      if (!(*img)->write(off, buf)) std::abort();
    if (!(*img)->flush()) std::abort();
    return p;
  }();
  return path;
}

void BM_L2Lookup_Cached(benchmark::State& state) {
  auto img = open_image(image_path(), "qcow2", OpenOptions{});
  if (!img) {
    state.SkipWithError("cannot open the bench image");
    return;
  }
  Layer& l = **img;
  std::mt19937_64 rng(1);
  // Warm the cache: the image's 128 tables fit.
  for (uint64_t c = 0; c < kClusters; c += 512) benchmark::DoNotOptimize(l.block_status(c * kCluster, kCluster));
  for (auto _ : state) {
    uint64_t off = (rng() % kClusters) * kCluster;
    benchmark::DoNotOptimize(l.block_status(off, kCluster));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_L2Lookup_Cached);

void BM_L2Lookup_Sequential(benchmark::State& state) {
  auto img = open_image(image_path(), "qcow2", OpenOptions{});
  if (!img) {
    state.SkipWithError("cannot open the bench image");
    return;
  }
  Layer& l = **img;
  uint64_t c = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(l.block_status(c * kCluster, kCluster));
    c = (c + 1) % kClusters;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_L2Lookup_Sequential);

}  // namespace
