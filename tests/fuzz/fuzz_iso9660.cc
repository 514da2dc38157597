// Fuzz target: the input as an ISO 9660 image (Rock Ridge, Joliet or plain)
// opened read-only and walked (bounded): readdir, stat, readlink, reads of
// the start and end of each file, statvfs, label, and path resolution
// through symbolic links and "..".
#include <cstddef>
#include <cstdint>

#include "formats/chain.h"
#include "fs/iso9660/iso9660.h"
#include "fs/walk.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static dk::fuzz::InputFile file("fuzz_iso9660");
  if (!file.set(data, size)) return 0;
  dk::fs::ProbeResult probe;
  (void)dk::fs::identify_iso9660(std::span(data, size), probe);
  dk::fmt::OpenOptions opts;
  opts.force_share = true;
  auto layer = dk::fmt::open_image(file.path(), "raw", opts);
  if (!layer) return 0;
  auto fs = dk::fs::open_iso9660(std::move(*layer), dk::fs::IsoOpenOptions{"/dev/sda"});
  if (!fs) return 0;
  (void)(*fs)->statvfs();
  (void)(*fs)->label();
  dk::fs::Mounts tree;
  if (!tree.mount("/", **fs)) return 0;
  int budget = 2000;
  std::vector<std::byte> buf(4096);
  (void)dk::fs::walk(tree, "/", [&](const dk::fs::WalkEntry& e) -> dk::Result<bool> {
    if (--budget < 0) return dk::make_error(E2BIG, "budget");
    if (e.st.type() == dk::fs::FileType::Symlink) {
      (void)e.inode->readlink();
      (void)tree.resolve(e.path, true);
    } else if (e.st.type() == dk::fs::FileType::Regular) {
      (void)e.inode->read(0, buf);
      (void)e.inode->read(e.st.size > 100 ? e.st.size - 100 : 0, buf);
    }
    (void)tree.resolve(e.path + "/../" + e.name, false);
    return true;
  });
  return 0;
}
