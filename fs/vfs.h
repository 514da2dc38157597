// The one file-system interface every guest file system implements (ext,
// FAT, ISO 9660, ...), so the one-shot tools, the shell and FUSE share one
// code path.
//
// A FileSystem hands out Inodes (shared_ptr; cheap handles that keep their
// FileSystem alive by contract: the FileSystem must outlive its Inodes). An
// Inode answers for one file, directory or link. Every call returns Result<T>
// with an errno code a FUSE layer can pass on (ENOENT, ENOTDIR, EISDIR,
// ENOTEMPTY, EEXIST, EROFS, ENOTSUP, ELOOP, ENAMETOOLONG, EIO...).
//
// Path resolution (resolve()) is generic: it walks names with Inode::lookup,
// keeps its own stack for "..", so a hostile directory cannot lead outside
// the file system's root, and follows symbolic links inside the guest
// (absolute targets start at this file system's root) at most kMaxSymlinks
// times.
#pragma once

#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "formats/core/error.h"

namespace dk::fs {

inline constexpr int kMaxSymlinks = 40;         // Linux's MAXSYMLINKS
inline constexpr size_t kMaxPathLength = 4096;  // PATH_MAX
inline constexpr size_t kMaxNameLength = 255;

enum class FileType : uint8_t { Unknown, Regular, Directory, Symlink, CharDev, BlockDev, Fifo, Socket };

// FileType of a st_mode value, and the S_IF* bits of a FileType.
FileType file_type_of_mode(uint32_t mode);
uint32_t mode_bits_of(FileType t);

struct Timespec {
  int64_t sec = 0;
  uint32_t nsec = 0;
};

// stat(2) as a guest file system records it. mode includes the S_IFMT bits.
struct Stat {
  uint64_t ino = 0;
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t nlink = 0;
  uint64_t size = 0;
  uint64_t blocks = 0;   // 512-byte units allocated
  uint32_t blksize = 4096;
  uint64_t rdev = 0;     // device number for char/block devices (Linux encoding)
  Timespec atime, mtime, ctime;
  std::optional<Timespec> crtime;  // birth time where the file system keeps one

  FileType type() const { return file_type_of_mode(mode); }
};

struct DirEntry {
  std::string name;  // never "." or ".."
  uint64_t ino = 0;
  FileType type = FileType::Unknown;  // Unknown when the directory does not record it
};

// statvfs(3) of a file system.
struct StatVfs {
  uint64_t bsize = 0;    // block size
  uint64_t frsize = 0;   // fragment size (units of blocks/bfree/bavail)
  uint64_t blocks = 0;
  uint64_t bfree = 0;
  uint64_t bavail = 0;   // free for unprivileged users
  uint64_t files = 0;
  uint64_t ffree = 0;
  uint64_t favail = 0;
  uint64_t fsid = 0;
  uint64_t flag = 0;     // ST_RDONLY when read-only
  uint64_t namemax = kMaxNameLength;
};

// Owner and permission bits for new files (mode without S_IFMT).
struct NewFile {
  uint32_t mode = 0644;
  uint32_t uid = 0;
  uint32_t gid = 0;
};

class FileSystem;

class Inode {
 public:
  virtual ~Inode();

  // The inode number (stable for the FileSystem's lifetime; FAT synthesizes one).
  virtual uint64_t ino() const = 0;
  virtual Result<Stat> stat() = 0;

  // ---- Reading ----
  // Entries of a directory, without "." and ".."; ENOTDIR otherwise.
  virtual Result<std::vector<DirEntry>> readdir() = 0;
  // The child called `name` (one component, not "." or ".."; those are the
  // resolver's business); ENOENT when missing, ENOTDIR when this is no directory.
  virtual Result<std::shared_ptr<Inode>> lookup(std::string_view name) = 0;
  // The inode of an entry this directory's readdir() returned, without a
  // second search by name (the default calls lookup(entry.name)).
  virtual Result<std::shared_ptr<Inode>> child(const DirEntry& entry) { return lookup(entry.name); }
  // Reads up to out.size() bytes at off; returns the count, short only at end
  // of file (0 at or past it). EISDIR for directories.
  virtual Result<size_t> read(uint64_t off, std::span<std::byte> out) = 0;
  // The target of a symbolic link; EINVAL when this is not one.
  virtual Result<std::string> readlink() = 0;

  // ---- Writing (default: ENOTSUP; read-only file systems return EROFS) ----
  // Writes at off, growing the file as needed; returns bytes written (all).
  virtual Result<size_t> write(uint64_t off, std::span<const std::byte> in);
  virtual Result<void> truncate(uint64_t size);
  // Sets the permission bits (mode & 07777), keeping the type.
  virtual Result<void> chmod(uint32_t mode);
  // Changes owner and/or group (nullopt: unchanged).
  virtual Result<void> chown(std::optional<uint32_t> uid, std::optional<uint32_t> gid);
  // Sets access and/or modification time (nullopt: unchanged).
  virtual Result<void> utimens(std::optional<Timespec> atime, std::optional<Timespec> mtime);

  // Directory operations, called on the parent directory. EEXIST when `name`
  // exists, ENOTDIR when this is not a directory, ENAMETOOLONG above 255 bytes.
  virtual Result<std::shared_ptr<Inode>> create(std::string_view name, const NewFile& attr);
  virtual Result<std::shared_ptr<Inode>> mkdir(std::string_view name, const NewFile& attr);
  virtual Result<std::shared_ptr<Inode>> symlink(std::string_view name, std::string_view target,
                                                 const NewFile& attr);
  // Removes a non-directory entry (EISDIR for a directory).
  virtual Result<void> unlink(std::string_view name);
  // Removes an empty directory (ENOTEMPTY otherwise, ENOTDIR for a non-directory).
  virtual Result<void> rmdir(std::string_view name);
  // Moves entry `name` of this directory to `new_name` in `new_parent` (same
  // file system; EXDEV otherwise), replacing a target like rename(2) does.
  virtual Result<void> rename(std::string_view name, Inode& new_parent, std::string_view new_name);
};

using InodePtr = std::shared_ptr<Inode>;

class FileSystem {
 public:
  virtual ~FileSystem();

  // blkid's / libguestfs' vfs-type name: "ext4", "vfat", "iso9660", ...
  virtual std::string_view type_name() const = 0;
  virtual Result<InodePtr> root() = 0;
  virtual Result<StatVfs> statvfs() = 0;
  // True when opened read-only (every write op returns EROFS).
  virtual bool read_only() const = 0;
  // Writes every change made so far to the device and flushes it (no-op
  // read-only). Called by tools before they report success.
  virtual Result<void> flush() = 0;
  // Label and UUID as blkid prints them (may be empty).
  virtual std::string label() const { return {}; }
  virtual std::string uuid() const { return {}; }
};

// ---- Paths (generic, in vfs.cc) ----

// A set of mounted file systems seen as one tree (the guest's view): "/"
// first, then e.g. "/boot". Resolution crosses into a mounted file system
// when it reaches its mountpoint; ".." from a mount's root goes back to the
// parent mount. Absolute symlink targets restart at the guest's "/".
class Mounts {
 public:
  struct Mount {
    std::string mountpoint;  // canonical: "/", "/boot"
    FileSystem* fs = nullptr;
  };
  struct Resolved {
    FileSystem* fs = nullptr;
    InodePtr inode;
    std::string path;  // canonical guest path of what was found ("/usr/bin")
  };

  // Adds fs at mountpoint (canonicalized; EBUSY when it is already taken).
  // The caller keeps fs alive while this Mounts is used.
  Result<void> mount(std::string_view mountpoint, FileSystem& fs);
  const std::vector<Mount>& mounts() const { return m_mounts; }
  // Resolves `path` (see resolve() below for the rules); ENOENT when nothing
  // is mounted at "/".
  Result<Resolved> resolve(std::string_view path, bool follow_last = true) const;

 private:
  FileSystem* mounted_at(std::string_view canonical) const;
  std::vector<Mount> m_mounts;
};

// Splits "/a//b/./c/" into {"a", "b", "c"} ("." dropped, ".." kept).
std::vector<std::string> split_path(std::string_view path);

// Resolves an absolute guest path (relative paths start at the root too) on
// `fs`. Symlinks in intermediate components are always followed, the last
// one only when follow_last. ".." at the root stays at the root. Errors
// name the path: "'/etc/x': No such file or directory".
Result<InodePtr> resolve(FileSystem& fs, std::string_view path, bool follow_last = true);

// The parent directory of `path` (resolved, following links) and the last
// component; EINVAL for "/" (no last component).
Result<std::pair<InodePtr, std::string>> resolve_parent(FileSystem& fs, std::string_view path);

// Reads a whole regular file, refusing more than max_size bytes (EFBIG).
Result<std::string> read_file(Inode& inode, uint64_t max_size = 64u << 20);

// "rwxr-xr-x"-style mode string with the type letter in front ("drwxr-xr-x").
std::string mode_string(uint32_t mode);

}  // namespace dk::fs
