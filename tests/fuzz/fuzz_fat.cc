// Fuzz target: the input as a FAT12/16/32 file system. First opened
// read-only and walked (bounded): readdir, stat, reads of each file's first
// and last bytes, statvfs, lookups by long and short name. Then opened
// writable (the input file is a scratch copy) and changed: create, write,
// mkdir, rename, truncate, unlink, rmdir, flush.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "formats/chain.h"
#include "fs/fat/fat.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

std::unique_ptr<dk::fs::FileSystem> open_input(const std::string& path, bool writable) {
  dk::fmt::OpenOptions opts;
  opts.force_share = true;
  opts.writable = writable;
  auto layer = dk::fmt::open_image(path, "raw", opts);
  if (!layer) return nullptr;
  dk::fs::FatOpenOptions fo;
  fo.writable = writable;
  fo.warn = [](const std::string&) {};
  auto fs = dk::fs::open_fat(std::move(*layer), fo);
  return fs ? std::move(*fs) : nullptr;
}

void read_walk(dk::fs::FileSystem& fs) {
  (void)fs.statvfs();
  (void)fs.label();
  dk::fuzz::walk_filesystem(fs, "/SOMEFI~1.TXT/../x");
}

void write_ops(dk::fs::FileSystem& fs) {
  auto root = fs.root();
  if (!root) return;
  auto& r = **root;
  std::string data(5000, 'd');
  auto bytes = std::as_bytes(std::span(data.data(), data.size()));
  auto f = r.create("A new file with a long name.txt", {});
  if (f) {
    (void)(*f)->write(0, bytes);
    (void)(*f)->write(20000, bytes);
    (void)(*f)->truncate(7000);
  }
  auto d = r.mkdir("newdir", {});
  if (d) (void)r.rename("A new file with a long name.txt", **d, "moved.txt");
  if (auto ents = r.readdir()) {
    int n = 0;
    for (const auto& e : *ents) {
      if (++n > 20) break;
      if (e.type == dk::fs::FileType::Directory) {
        if (d) (void)r.rename(e.name, **d, e.name);
        (void)r.rmdir(e.name);
      } else {
        (void)r.unlink(e.name);
      }
    }
  }
  (void)fs.flush();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static dk::fuzz::InputFile file("fuzz_fat");
  if (!file.set(data, size)) return 0;
  if (auto fs = open_input(file.path(), false)) read_walk(*fs);
  if (auto fs = open_input(file.path(), true)) {
    write_ops(*fs);
    read_walk(*fs);
  }
  return 0;
}
