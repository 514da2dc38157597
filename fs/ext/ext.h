// ext2/3/4 through libext2fs, reading and writing a diskit Layer (an offset
// view of the partition) via a custom io_manager.
//
// Read-only opens never write a byte: the channel refuses writes, no atime
// is updated, the superblock is not touched. A file system whose journal
// needs recovery is read with its committed transactions replayed into a
// temporary in-memory overlay (fs/ext/journal.cc: libext2fs has no replay
// code outside e2fsck/debugfs), with a warning, and refuses writable opens
// with EROFS until e2fsck recovers it.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "formats/layer.h"
#include "fs/vfs.h"

namespace dk::fs {

struct ExtOpenOptions {
  bool writable = false;
  // One-line warnings (journal replayed in memory); stderr when empty.
  std::function<void(const std::string&)> warn;
  // Name for messages ("/dev/sda1").
  std::string device_name;
};

// Opens the ext2/3/4 file system on `dev` (the FileSystem owns it).
// EINVAL when dev holds no ext file system, ENOTSUP for features libext2fs
// cannot handle, EROFS for a writable open that cannot be allowed.
Result<std::unique_ptr<FileSystem>> open_ext(std::unique_ptr<fmt::Layer> dev,
                                             const ExtOpenOptions& opts);

}  // namespace dk::fs
