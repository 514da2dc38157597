// Fuzz target for the vmdk seSparse extent parser: the input is the
// SESPARSE extent file (constant and volatile headers, grain directory and
// tables), opened through a fixed descriptor next to it, read-only; the
// layer is then read, walked and queried (bounded).
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

#include "formats/driver.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The extent is "img" in a private directory; the descriptor sits beside
  // it and names it relatively (32 MiB guest: bounded work per input).
  static dk::fuzz::InputFile input("fuzz_vmdk_sesparse", /*in_private_dir=*/true);
  static const std::string desc = [] {
    const std::string& p = input.path();
    std::string d = p.substr(0, p.rfind('/') + 1) + "desc.vmdk";
    std::ofstream(d) << "# Disk DescriptorFile\nversion=1\nCID=1\nparentCID=ffffffff\n"
                        "createType=\"seSparse\"\nRW 65536 SESPARSE \"img\"\n";
    return d;
  }();
  if (!input.set(data, size)) return 0;
  dk::fmt::OpenOptions o;
  o.force_share = true;
  auto l = dk::fmt::find_driver("vmdk")->open(desc, o);
  if (l) dk::fuzz::exercise(**l);
  return 0;
}
