// Fuzz target: the input opened as a whole chain with a probed format, as
// the CLI does, then walked with chain_block_status(). The input lives as
// "img" in a private directory: a backing name "img" makes a loop, other
// relative names are missing files.
#include <cstddef>
#include <cstdint>

#include "formats/chain.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static dk::fuzz::InputFile file("fuzz_chain", /*in_private_dir=*/true);
  if (!file.set(data, size)) return 0;
  dk::fmt::ChainOptions opts;
  opts.open.force_share = true;
  auto top = dk::fmt::open_chain(file.path(), opts);
  if (!top) return 0;
  dk::fuzz::exercise(**top);
  uint64_t off = 0, end = (*top)->size();
  for (int i = 0; i < 4096 && off < end; ++i) {
    auto e = dk::fmt::chain_block_status(**top, off, end - off);
    if (!e || e->length == 0) break;
    off += e->length;
  }
  return 0;
}
