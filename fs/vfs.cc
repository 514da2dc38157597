// Generic parts of the file-system interface: default write ops, path
// splitting and resolution across mounts.
#include "fs/vfs.h"

#include <cstring>
#include <deque>

namespace dk::fs {

Inode::~Inode() = default;
FileSystem::~FileSystem() = default;

namespace {
tl::unexpected<Error> not_supported() { return make_error(ENOTSUP, std::strerror(ENOTSUP)); }
}  // namespace

Result<size_t> Inode::write(uint64_t, std::span<const std::byte>) { return not_supported(); }
Result<void> Inode::truncate(uint64_t) { return not_supported(); }
Result<void> Inode::chmod(uint32_t) { return not_supported(); }
Result<void> Inode::chown(std::optional<uint32_t>, std::optional<uint32_t>) { return not_supported(); }
Result<void> Inode::utimens(std::optional<Timespec>, std::optional<Timespec>) { return not_supported(); }
Result<InodePtr> Inode::create(std::string_view, const NewFile&) { return not_supported(); }
Result<InodePtr> Inode::mkdir(std::string_view, const NewFile&) { return not_supported(); }
Result<InodePtr> Inode::symlink(std::string_view, std::string_view, const NewFile&) {
  return not_supported();
}
Result<void> Inode::unlink(std::string_view) { return not_supported(); }
Result<void> Inode::rmdir(std::string_view) { return not_supported(); }
Result<void> Inode::rename(std::string_view, Inode&, std::string_view) { return not_supported(); }

FileType file_type_of_mode(uint32_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: return FileType::Regular;
    case S_IFDIR: return FileType::Directory;
    case S_IFLNK: return FileType::Symlink;
    case S_IFCHR: return FileType::CharDev;
    case S_IFBLK: return FileType::BlockDev;
    case S_IFIFO: return FileType::Fifo;
    case S_IFSOCK: return FileType::Socket;
    default: return FileType::Unknown;
  }
}

uint32_t mode_bits_of(FileType t) {
  switch (t) {
    case FileType::Regular: return S_IFREG;
    case FileType::Directory: return S_IFDIR;
    case FileType::Symlink: return S_IFLNK;
    case FileType::CharDev: return S_IFCHR;
    case FileType::BlockDev: return S_IFBLK;
    case FileType::Fifo: return S_IFIFO;
    case FileType::Socket: return S_IFSOCK;
    default: return 0;
  }
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view c = path.substr(i, j - i);
    if (!c.empty() && c != ".") out.emplace_back(c);
    i = j + 1;
  }
  return out;
}

namespace {

std::string canonical_of(std::string_view path) {
  std::vector<std::string> parts;
  for (auto& c : split_path(path)) {
    if (c == "..") {
      if (!parts.empty()) parts.pop_back();
    } else {
      parts.push_back(std::move(c));
    }
  }
  std::string out;
  for (auto& c : parts) out += "/" + c;
  return out.empty() ? "/" : out;
}

tl::unexpected<Error> path_error(std::string_view path, int code) {
  return make_error(code, "'" + std::string(path) + "': " + std::strerror(code));
}

struct Frame {
  FileSystem* fs;
  InodePtr inode;
  std::string name;
};

std::string join_frames(const std::vector<Frame>& stack) {
  std::string out;
  for (size_t i = 1; i < stack.size(); ++i) out += "/" + stack[i].name;
  return out.empty() ? "/" : out;
}

}  // namespace

Result<void> Mounts::mount(std::string_view mountpoint, FileSystem& fs) {
  std::string mp = canonical_of(mountpoint);
  if (mounted_at(mp)) return make_error(EBUSY, "'" + mp + "' is already a mountpoint");
  m_mounts.push_back({mp, &fs});
  return {};
}

FileSystem* Mounts::mounted_at(std::string_view canonical) const {
  // The last mount wins, like stacking mounts in a kernel.
  for (auto it = m_mounts.rbegin(); it != m_mounts.rend(); ++it)
    if (it->mountpoint == canonical) return it->fs;
  return nullptr;
}

// Walks the components with an explicit stack: ".." pops it (so on-disk ".."
// entries are never trusted), symlink targets are pushed in front of the
// remaining components, and every expansion counts against kMaxSymlinks.
Result<Mounts::Resolved> Mounts::resolve(std::string_view path, bool follow_last) const {
  if (path.size() > kMaxPathLength) return path_error(path.substr(0, 64), ENAMETOOLONG);
  FileSystem* root_fs = mounted_at("/");
  if (!root_fs) return make_error(ENOENT, "no file system is mounted on /");
  std::vector<Frame> stack;
  stack.push_back({root_fs, DK_TRY(root_fs->root()), ""});
  std::deque<std::string> todo;
  for (auto& c : split_path(path)) todo.push_back(std::move(c));
  int links = 0;
  while (!todo.empty()) {
    std::string name = std::move(todo.front());
    todo.pop_front();
    if (name == "..") {
      if (stack.size() > 1) stack.pop_back();
      continue;
    }
    if (name.size() > kMaxNameLength) return path_error(path, ENAMETOOLONG);
    Frame& cur = stack.back();
    auto child = cur.inode->lookup(name);
    if (!child) {
      if (child.error().code == ENOENT || child.error().code == ENOTDIR)
        return path_error(path, child.error().code);
      return make_error(child.error().with_context("'" + std::string(path) + "'"));
    }
    std::string canonical = join_frames(stack);
    canonical += (canonical == "/" ? "" : "/") + name;
    if (FileSystem* m = mounted_at(canonical)) {
      stack.push_back({m, DK_TRY(m->root()), name});
      continue;
    }
    bool last = todo.empty();
    if (last && !follow_last) {
      stack.push_back({cur.fs, std::move(*child), name});
      break;
    }
    Stat st = DK_TRY_CTX((*child)->stat(), "'" + std::string(path) + "'");
    if (st.type() != FileType::Symlink) {
      stack.push_back({cur.fs, std::move(*child), name});
      continue;
    }
    if (++links > kMaxSymlinks) return path_error(path, ELOOP);
    std::string target = DK_TRY_CTX((*child)->readlink(), "'" + std::string(path) + "'");
    if (target.empty()) return path_error(path, ENOENT);
    if (target.size() > kMaxPathLength) return path_error(path, ENAMETOOLONG);
    if (target[0] == '/') stack.resize(1);
    auto parts = split_path(target);
    if (todo.size() + parts.size() > kMaxPathLength) return path_error(path, ENAMETOOLONG);
    todo.insert(todo.begin(), parts.begin(), parts.end());
  }
  Frame& f = stack.back();
  return Resolved{f.fs, f.inode, join_frames(stack)};
}

Result<InodePtr> resolve(FileSystem& fs, std::string_view path, bool follow_last) {
  Mounts m;
  DK_TRY(m.mount("/", fs));
  Mounts::Resolved r = DK_TRY(m.resolve(path, follow_last));
  return r.inode;
}

Result<std::pair<InodePtr, std::string>> resolve_parent(FileSystem& fs, std::string_view path) {
  auto parts = split_path(path);
  while (!parts.empty() && parts.back() == "..") {
    // "a/b/.." names a, whose parent is resolved from what is left.
    return make_error(EINVAL, "'" + std::string(path) + "': path ends in '..'");
  }
  if (parts.empty()) return make_error(EINVAL, "'" + std::string(path) + "': no file name");
  std::string last = parts.back();
  std::string dir;
  for (size_t i = 0; i + 1 < parts.size(); ++i) dir += "/" + parts[i];
  InodePtr parent = DK_TRY(resolve(fs, dir.empty() ? "/" : dir, true));
  return std::make_pair(std::move(parent), std::move(last));
}

Result<std::string> read_file(Inode& inode, uint64_t max_size) {
  Stat st = DK_TRY(inode.stat());
  if (st.type() == FileType::Directory) return make_error(EISDIR, std::strerror(EISDIR));
  if (st.size > max_size)
    return make_error(EFBIG, "file of " + std::to_string(st.size) + " bytes is too large to read whole");
  std::string out(st.size, '\0');
  size_t got = DK_TRY(inode.read(0, std::as_writable_bytes(std::span(out.data(), out.size()))));
  out.resize(got);
  return out;
}

std::string mode_string(uint32_t mode) {
  char t = '?';
  switch (file_type_of_mode(mode)) {
    case FileType::Regular: t = '-'; break;
    case FileType::Directory: t = 'd'; break;
    case FileType::Symlink: t = 'l'; break;
    case FileType::CharDev: t = 'c'; break;
    case FileType::BlockDev: t = 'b'; break;
    case FileType::Fifo: t = 'p'; break;
    case FileType::Socket: t = 's'; break;
    default: break;
  }
  std::string s(1, t);
  const char* rwx = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i) s += (mode & (0400 >> i)) ? rwx[i] : '-';
  if (mode & S_ISUID) s[3] = (mode & S_IXUSR) ? 's' : 'S';
  if (mode & S_ISGID) s[6] = (mode & S_IXGRP) ? 's' : 'S';
  if (mode & S_ISVTX) s[9] = (mode & S_IXOTH) ? 't' : 'T';
  return s;
}

}  // namespace dk::fs
