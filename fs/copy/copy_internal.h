// Shared by the fs/copy files (internal): walking and creating entries
// below a guest directory without ever leaving it, and setting attributes
// best-effort.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fs/copy/copy.h"

namespace dk::fs::copy_detail {

inline constexpr size_t kChunk = 1u << 20;

// A guest directory the writers work in: its inode and canonical path (the
// path is what mount crossing is decided on).
struct GuestDir {
  InodePtr inode;
  std::string path;
};

// guest path `dir` joined with `name`.
std::string join_guest(const std::string& dir, std::string_view name);

// Resolves `path` (following links, as a user-given target is) and checks
// it is a directory: ENOTDIR "'/x': Not a directory" otherwise.
Result<GuestDir> open_guest_dir(const Mounts& tree, std::string_view path);

// The child directory `name` of `dir`, crossing into a file system mounted
// there. create: makes it (with attr) when missing. A child that exists but
// is no directory (a symbolic link included: following one could lead out of
// the target) is ENOTDIR naming it.
Result<GuestDir> enter_dir(const Mounts& tree, const GuestDir& dir, const std::string& name, bool create,
                           const NewFile& attr);

// Looks `name` up in dir without following it; nullptr when missing.
Result<InodePtr> lookup_opt(const GuestDir& dir, const std::string& name);

// Makes room for a non-directory `name` in dir: unlinks an existing
// non-directory (tar's default), EISDIR when a directory is in the way.
Result<void> clear_for_file(const GuestDir& dir, const std::string& name);

// Sets owner and times, ignoring what the file system cannot hold (ENOTSUP,
// EPERM: FAT has no owners). mode: chmod too (not for symlinks).
Result<void> set_attrs(Inode& inode, const std::string& guest_path, std::optional<uint32_t> mode,
                       std::optional<std::pair<uint32_t, uint32_t>> owner, std::optional<Timespec> atime,
                       std::optional<Timespec> mtime);

// Writes what `next` yields (a chunk at an offset; false at the end) to a
// new guest file, then truncates it to `size` (sparse tails).
Result<void> write_guest_data(Inode& file, const std::string& guest_path,
                              const std::function<Result<bool>(uint64_t&, std::span<const std::byte>&)>& next,
                              std::optional<uint64_t> size);

// The warning sink: opts.warn or "diskit: warning: ..." on stderr.
void warn_with(const std::function<void(const std::string&)>& warn, const std::string& msg);

// Checks `need` bytes fit in the free space of the file system at `dir`
// (ENOSPC naming both figures otherwise). Rough: data only, rounded up to
// the block size per file; metadata is left to the real write to report.
Result<void> check_space(const Mounts& tree, std::string_view dir, uint64_t need);

// One entry a writer is about to create below the target (rel: its path
// components; empty: the target itself).
struct Planned {
  std::vector<std::string> rel;
  bool is_dir = false;
};

// What the writes would collide with in the guest as it is now: a directory
// where a file goes (EISDIR), a file where a directory goes or on the way
// to an entry (ENOTDIR). Checked before the first write.
Result<void> check_conflicts(const Mounts& tree, const GuestDir& top, const std::vector<Planned>& plan);

}  // namespace dk::fs::copy_detail
