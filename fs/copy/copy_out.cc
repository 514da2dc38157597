// copy_out / download: guest files and trees onto the host. Guest names
// are hostile: each is checked to be one plain component before it is
// joined to a host path, and host symlinks in the way are replaced, never
// followed.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <vector>

#include "fs/copy/copy_internal.h"
#include "fs/walk.h"

namespace dk::fs {
using namespace copy_detail;
namespace {

bool plain_name(std::string_view n) {
  return !n.empty() && n != "." && n != ".." && n.find('/') == std::string_view::npos &&
         n.find('\0') == std::string_view::npos;
}

timespec to_ts(const Timespec& t) { return timespec{static_cast<time_t>(t.sec), static_cast<long>(t.nsec)}; }

struct DirAttrs {
  std::string path;
  Stat st;
};

struct Copier {
  explicit Copier(const CopyOptions& o) : opts(o) {}
  const CopyOptions& opts;
  const bool root = ::geteuid() == 0;
  std::map<std::pair<FileSystem*, uint64_t>, std::string> links;  // hard links seen in this copy
  std::vector<DirAttrs> dirs;
  std::vector<std::byte> buf = std::vector<std::byte>(kChunk);

  // Removes a non-directory at `path`; EISDIR when a directory is there.
  Result<void> clear(const std::string& path) {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return errno == ENOENT ? Result<void>{} : errno_error("'" + path + "'");
    if (S_ISDIR(st.st_mode)) return make_error(EISDIR, "'" + path + "': a directory is in the way");
    if (::unlink(path.c_str()) != 0) return errno_error("'" + path + "'");
    return {};
  }

  Result<void> mkdir_local(const std::string& path, const Stat& st) {
    struct stat ls;
    if (::lstat(path.c_str(), &ls) == 0 && !S_ISDIR(ls.st_mode) && ::unlink(path.c_str()) != 0)
      return errno_error("'" + path + "'");
    // Owner-writable while filling it; the real mode is set at the end.
    if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) return errno_error("'" + path + "'");
    dirs.push_back({path, st});
    return {};
  }

  Result<void> owner_and_times(int fd, const std::string& path, const Stat& st, bool link) {
    if (root && opts.preserve_owner) {
      int r = fd >= 0 ? ::fchown(fd, st.uid, st.gid) : ::lchown(path.c_str(), st.uid, st.gid);
      if (r != 0) return errno_error("'" + path + "'");
    }
    if (!link) {
      int r = fd >= 0 ? ::fchmod(fd, st.mode & 07777) : ::chmod(path.c_str(), st.mode & 07777);
      if (r != 0) return errno_error("'" + path + "'");
    }
    if (opts.preserve_times) {
      timespec ts[2] = {to_ts(st.mtime), to_ts(st.mtime)};
      int r = fd >= 0 ? ::futimens(fd, ts) : ::utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW);
      if (r != 0) return errno_error("'" + path + "'");
    }
    return {};
  }

  Result<void> file(Inode& inode, const std::string& gpath, const std::string& path, const Stat& st) {
    DK_TRY(clear(path));
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return errno_error("'" + path + "'");
    struct Closer { int fd; ~Closer() { if (fd >= 0) ::close(fd); } } closer{fd};
    uint64_t off = 0;
    static const std::byte kZeros[4096] = {};
    for (;;) {
      size_t got = DK_TRY_CTX(inode.read(off, buf), "'" + gpath + "'");
      if (got == 0) break;
      bool zero = true;
      for (size_t i = 0; zero && i < got; i += sizeof kZeros)
        zero = std::memcmp(buf.data() + i, kZeros, std::min(sizeof kZeros, got - i)) == 0;
      // Zero chunks become holes, as tar --sparse would leave them.
      for (size_t done = 0; !zero && done < got;) {
        ssize_t n = ::pwrite(fd, buf.data() + done, got - done, static_cast<off_t>(off + done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return errno_error("writing '" + path + "'");
        done += static_cast<size_t>(n);
      }
      off += got;
    }
    if (::ftruncate(fd, static_cast<off_t>(off)) != 0) return errno_error("'" + path + "'");
    DK_TRY(owner_and_times(fd, path, st, false));
    if (::close(fd) != 0) { closer.fd = -1; return errno_error("'" + path + "'"); }
    closer.fd = -1;
    return {};
  }

  // One non-directory entry (a directory's own mkdir is done by the caller).
  Result<void> entry(FileSystem* fs, Inode& inode, const std::string& gpath, const std::string& path,
                     const Stat& st) {
    switch (st.type()) {
      case FileType::Directory: return mkdir_local(path, st);
      case FileType::Regular: {
        if (st.nlink > 1) {
          auto [it, fresh] = links.emplace(std::pair{fs, inode.ino()}, path);
          if (!fresh) {
            DK_TRY(clear(path));
            if (::link(it->second.c_str(), path.c_str()) != 0) return errno_error("'" + path + "'");
            return {};
          }
        }
        return file(inode, gpath, path, st);
      }
      case FileType::Symlink: {
        std::string target = DK_TRY_CTX(inode.readlink(), "'" + gpath + "'");
        DK_TRY(clear(path));
        if (::symlink(target.c_str(), path.c_str()) != 0) return errno_error("'" + path + "'");
        return owner_and_times(-1, path, st, true);
      }
      case FileType::Fifo:
      case FileType::CharDev:
      case FileType::BlockDev: {
        if (st.type() != FileType::Fifo && !root) {
          warn_with(opts.warn, "'" + gpath + "': device not copied (needs root)");
          return {};
        }
        DK_TRY(clear(path));
        if (::mknod(path.c_str(), mode_bits_of(st.type()) | 0600, static_cast<dev_t>(st.rdev)) != 0)
          return errno_error("'" + path + "'");
        return owner_and_times(-1, path, st, false);
      }
      default:
        warn_with(opts.warn, "'" + gpath + "': socket ignored");
        return {};
    }
  }

  // Directory modes and times, deepest first (setting a child's time
  // touches nothing above it, but a read-only mode would stop the copy).
  Result<void> finish_dirs() {
    for (auto i = dirs.rbegin(); i != dirs.rend(); ++i) DK_TRY(owner_and_times(-1, i->path, i->st, false));
    dirs.clear();
    return {};
  }
};

}  // namespace

Result<void> copy_out(const Mounts& tree, const std::vector<std::string>& guest_paths, const std::string& local_dir,
                      const CopyOptions& opts) {
  struct stat ls;
  if (::stat(local_dir.c_str(), &ls) != 0) return errno_error("'" + local_dir + "'");
  if (!S_ISDIR(ls.st_mode)) return make_error(ENOTDIR, "'" + local_dir + "': " + std::strerror(ENOTDIR));
  Copier c(opts);
  for (const std::string& gp : guest_paths) {
    bool follow = !gp.empty() && gp.back() == '/';
    Mounts::Resolved r = DK_TRY(tree.resolve(gp, follow));
    Stat st = DK_TRY_CTX(r.inode->stat(), "'" + gp + "'");
    std::string name = r.path == "/" ? "" : r.path.substr(r.path.rfind('/') + 1);
    if (!name.empty() && !plain_name(name)) return make_error(EINVAL, "'" + gp + "': invalid file name");
    std::string top = name.empty() ? local_dir : local_dir + "/" + name;
    if (st.type() != FileType::Directory) {
      DK_TRY(c.entry(r.fs, *r.inode, r.path, top, st));
      continue;
    }
    if (!name.empty()) DK_TRY(c.mkdir_local(top, st));
    const size_t prefix = r.path == "/" ? 0 : r.path.size();
    DK_TRY(walk(tree, r.path, [&](const WalkEntry& e) -> Result<bool> {
      if (!plain_name(e.name)) return make_error(EINVAL, "'" + e.path + "': invalid file name in the guest");
      std::string local = top + e.path.substr(prefix);
      DK_TRY(c.entry(e.fs, *e.inode, e.path, local, e.st));
      return true;
    }));
  }
  return c.finish_dirs();
}

Result<void> download(const Mounts& tree, std::string_view guest_file, const std::string& local_file) {
  Mounts::Resolved r = DK_TRY(tree.resolve(guest_file, true));
  Stat st = DK_TRY_CTX(r.inode->stat(), "'" + std::string(guest_file) + "'");
  if (st.type() == FileType::Directory)
    return make_error(EISDIR, "'" + std::string(guest_file) + "': " + std::strerror(EISDIR));
  bool to_stdout = local_file == "-";
  int fd = to_stdout ? STDOUT_FILENO : ::open(local_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno_error("'" + local_file + "'");
  std::vector<std::byte> buf(kChunk);
  uint64_t off = 0;
  Result<void> res;
  for (;;) {
    auto got = r.inode->read(off, buf);
    if (!got) { res = make_error(got.error().with_context("'" + std::string(guest_file) + "'")); break; }
    if (*got == 0) break;
    size_t done = 0;
    while (done < *got) {
      ssize_t n = ::write(fd, buf.data() + done, *got - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    if (done < *got) { res = errno_error("writing '" + local_file + "'"); break; }
    off += *got;
  }
  if (!to_stdout && ::close(fd) != 0 && res) res = errno_error("'" + local_file + "'");
  return res;
}

}  // namespace dk::fs
