// Copying files between a mounted guest tree and the local file system, and
// tar archives of guest directories (libarchive): the logic behind
// copy-in/copy-out/tar-in/tar-out, shared by the one-shot tools and the
// shell (copy-in, copy-out, tar-in, tar-out, download, upload).
//
// Shapes follow libguestfs 1.48:
// - copy_out / copy_in put a source called NAME at DIR/NAME (a directory is
//   copied whole, recursively), like virt-copy-out / virt-copy-in.
// - tar_out writes what `tar -C DIR -cf - .` writes (members "./", "./a",
//   ...; GNU tar format); tar_in extracts an archive into DIR as
//   `tar -C DIR -xf -` does, refusing members that would land outside DIR.
//
// Errors name the guest or local path ("'/etc/nothere': No such file or
// directory"). Writers check what they can before the first write (the
// target is a directory, every source is readable and of a kind the guest
// file system can hold, the data fits in the free space) so an error found
// there leaves the guest untouched. Callers flush the file systems
// (GuestMounts::flush_all) before they report success.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/core/error.h"
#include "fs/vfs.h"

namespace dk::fs {

struct CopyOptions {
  // Copy the owner (uid/gid). copy_in: the local owner is set on the guest
  // file (libguestfs' appliance runs tar as root). copy_out: only takes
  // effect when running as root, like tar -x.
  bool preserve_owner = true;
  // Keep modification times (atime is set to the same value).
  bool preserve_times = true;
  // Non-fatal notes ("'/x/sock': socket ignored"); stderr
  // ("diskit: warning: ...") when empty.
  std::function<void(const std::string&)> warn;
};

// Copies each guest path (file, symlink, or directory recursively; links
// are not followed, except a trailing "/" or a link named as the source
// itself when it points to a directory) into the existing local directory
// `local_dir` as local_dir/basename. Local files in the way are replaced,
// local directories merged. Modes, symlinks, mtimes and hard links inside
// one copy are kept; devices and FIFOs are made with mknod(2) where the
// local system allows it, else skipped with a warning.
Result<void> copy_out(const Mounts& tree, const std::vector<std::string>& guest_paths,
                      const std::string& local_dir, const CopyOptions& opts = {});

// Copies each local path (file, symlink, or directory recursively) into the
// existing guest directory `guest_dir` as guest_dir/basename. Guest files in
// the way are replaced, guest directories merged, a directory where a file
// should go is an error. Modes, owners and times are set best-effort: a file
// system that cannot hold them (FAT: ENOTSUP/EPERM from chmod/chown) is not an
// error. Hard links become separate copies (the interface has no link());
// sockets are skipped with a warning; devices and FIFOs are an error (ENOTSUP)
// found before anything is written.
Result<void> copy_in(const Mounts& tree, const std::vector<std::string>& local_paths,
                     std::string_view guest_dir, const CopyOptions& opts = {});

// guestfish download: one guest file's bytes to local_file ("-": stdout).
Result<void> download(const Mounts& tree, std::string_view guest_file, const std::string& local_file);
// guestfish upload: a local file ("-": stdin) becomes guest_file (created
// 0644 or truncated and rewritten).
Result<void> upload(const Mounts& tree, const std::string& local_file, std::string_view guest_file);

// guestfish's compress: values. None: a plain tar.
enum class Compression : uint8_t { None, Gzip, Bzip2, Xz, Lzop, Compress, Zstd };

// "gzip" -> Gzip, ...; EINVAL naming the value when unknown.
Result<Compression> parse_compression(std::string_view name);

struct TarOptions {
  // tar_out: the filter to write. tar_in: ignored (libarchive detects any).
  Compression compress = Compression::None;
  // tar_out: store uid/gid only (no user/group names); names are never
  // looked up anyway (the guest's passwd is not the host's).
  bool numeric_owner = true;
  // tar_out: glob patterns (fnmatch, matched against "./path" and the
  // basename) of members to leave out, like tar --exclude.
  std::vector<std::string> excludes;
  // tar_in: set owners from the archive (tar -x as root does).
  bool preserve_owner = true;
  std::function<void(const std::string&)> warn;
};

// Writes a tar of everything below guest directory `dir` to `archive`
// ("-": stdout). Hard links inside the tree are stored as links.
Result<void> tar_out(const Mounts& tree, std::string_view dir, const std::string& archive,
                     const TarOptions& opts = {});

// Extracts `archive` ("-": stdin; ustar, pax or GNU tar, in any compression
// libarchive reads) into the existing guest directory `dir`. Absolute member names and
// names with ".." components are refused (EINVAL naming the member); when
// the archive is a regular file every header is checked in a first pass, so
// such an archive changes nothing. Hard links are stored as copies of the
// target's data; device and FIFO members are refused (ENOTSUP).
Result<void> tar_in(const Mounts& tree, const std::string& archive, std::string_view dir,
                    const TarOptions& opts = {});

}  // namespace dk::fs
