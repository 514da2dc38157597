// Fuzz target: the input as a raw disk: partition table (MBR with EBR
// chains, GPT with its backup), every partition's device view, and the
// superblock probe on each file-system candidate.
#include <cstddef>
#include <cstdint>

#include "formats/chain.h"
#include "fs/disk.h"
#include "fs/probe.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static dk::fuzz::InputFile file("fuzz_mbr_gpt");
  if (!file.set(data, size)) return 0;
  dk::fmt::OpenOptions opts;
  opts.force_share = true;
  auto layer = dk::fmt::open_image(file.path(), "raw", opts);
  if (!layer) return 0;
  std::vector<std::unique_ptr<dk::fmt::Layer>> layers;
  layers.push_back(std::move(*layer));
  auto guest = dk::fs::Guest::from_layers(std::move(layers), [](const std::string&) {});
  if (!guest) return 0;
  for (const auto& dev : (*guest)->filesystem_candidates()) {
    auto view = (*guest)->open_device(dev);
    if (!view) continue;
    (void)dk::fs::probe_filesystem(**view);
  }
  (void)(*guest)->find("/dev/sda5");
  return 0;
}
