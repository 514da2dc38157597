// File I/O helpers shared by the command groups: reading guest files whole
// or in chunks, feeding them to a host program (md5sum, file...), and
// creating or replacing guest files from bytes or a local file.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fs/vfs.h"
#include "tools/fish/shell.h"

namespace dk::tools::fish {

// The error of an operation on guest `path`: "'/d': Directory not empty"
// for the errno values that say it all (the driver's own wording names only
// a component or the device), "'/d': <driver message>" otherwise.
Error at_path(const Error& e, std::string_view path);

template <class T>
Result<T> at_path(Result<T> r, std::string_view path) {
  if (r) return r;
  return make_error(at_path(r.error(), path));
}

inline constexpr uint64_t kMaxWholeRead = 256u << 20;  // cat, read-file, hexdump...

// The regular file at `path` (links followed); EISDIR for a directory.
Result<fs::InodePtr> open_regular(Shell& sh, std::string_view path);

// The whole file (at most kMaxWholeRead bytes).
Result<std::string> read_whole(Shell& sh, std::string_view path);

// Calls `sink` with the file's bytes in order, in chunks of up to 1 MiB.
Result<void> read_chunks(fs::Inode& inode, const std::function<Result<void>(std::string_view)>& sink);

// Runs argv[0] with the guest file on its standard input and returns its
// standard output (the daemon's way to run md5sum, cksum, ...).
Result<std::string> filter_file(fs::Inode& inode, const std::vector<std::string>& argv);

// Copies a guest file to a local path (created or truncated, mode 0644).
Result<void> download_to(Shell& sh, std::string_view guest_path, const std::string& local);

// Creates `path` if needed (mode 0644, root) and writes `data` over it
// (truncated first) or at its end (append).
Result<void> write_guest_file(Shell& sh, std::string_view path, std::string_view data, bool append);

// Creates or replaces `path` with the contents of a local file (streamed).
Result<void> upload_from(Shell& sh, const std::string& local, std::string_view path);

}  // namespace dk::tools::fish
