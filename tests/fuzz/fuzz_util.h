// Helpers shared by the fuzz targets: the input as an image file, and a
// bounded walk over everything a consumer can ask an opened layer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "formats/layer.h"
#include "fs/vfs.h"

namespace dk::fuzz {

// A file holding the fuzz input, reused across inputs to stay fast. By
// default an in-memory file (memfd) named /proc/self/fd/N; with
// in_private_dir the file is "img" in a fresh temporary directory, so
// relative backing-file names resolve to (missing) files there instead of
// to this process's other descriptors.
class InputFile {
 public:
  explicit InputFile(const char* name, bool in_private_dir = false);
  // Replaces the file's contents with data; false when the write failed.
  bool set(const uint8_t* data, size_t size);
  const std::string& path() const { return m_path; }

 private:
  int m_fd = -1;
  std::string m_path;
};

// Exercises a layer: metadata, reads of the first kMaxRead bytes and a few
// spots further out, block status over the whole size (bounded number of
// calls). Errors are fine; crashes, leaks and UB are what the fuzzer finds.
void exercise(dk::fmt::Layer& layer);

// Walks a guest file system from its root (bounded number of entries):
// stats everything, reads the head and tail of regular files, reads and
// follows symbolic links, and resolves "dir/../name" for every entry, then
// extra_path (if any; following links).
void walk_filesystem(dk::fs::FileSystem& fs, const std::string& extra_path = "");

}  // namespace dk::fuzz
