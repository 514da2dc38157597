// Recursive walks over a mounted guest tree (ls -R, find, copy-out, tar-out).
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "fs/vfs.h"

namespace dk::fs {

inline constexpr int kMaxWalkDepth = 1024;

struct WalkEntry {
  std::string path;   // full guest path ("/etc/passwd")
  std::string name;   // last component
  Stat st;            // lstat: symlinks are not followed
  InodePtr inode;
  FileSystem* fs = nullptr;
  int depth = 0;      // 1 for direct children of the start directory
};

// Visits everything below directory `dir` (not `dir` itself) depth-first,
// pre-order, the entries of each directory sorted by name (strcmp order).
// Paths are `dir` as given (trailing slashes dropped) plus the names below.
// Crosses into file systems mounted below `dir`; never follows symlinks; a
// directory reached twice (a hard-linked directory or cycle in a hostile file
// system) or deeper than kMaxWalkDepth ends the walk with ELOOP.
// visit returns false to skip descending into a directory entry.
Result<void> walk(const Mounts& tree, std::string_view dir,
                  const std::function<Result<bool>(const WalkEntry&)>& visit);

// The sorted entries of one directory with their lstat, mounts crossed the
// same way (ls, ls -l).
Result<std::vector<WalkEntry>> list_directory(const Mounts& tree, std::string_view dir);

}  // namespace dk::fs
