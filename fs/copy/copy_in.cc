// copy_in: local files and trees into a guest directory. A scan of the
// local side (types, names, sizes) and of what is in the way in the guest
// comes first, so every error it can find leaves the guest untouched.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <vector>

#include "fs/copy/copy_internal.h"

namespace dk::fs {
using namespace copy_detail;
namespace {

struct LocalItem {
  std::string local;              // path on the host
  std::vector<std::string> rel;   // components below the guest target
  struct stat st {};
  std::string link_target;
};

std::string strip_slashes(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

std::string base_of(const std::string& p) {
  std::string s = strip_slashes(p);
  size_t slash = s.rfind('/');
  return slash == std::string::npos ? s : s.substr(slash + 1);
}

struct Scanner {
  const CopyOptions& opts;
  std::vector<LocalItem> items;
  uint64_t bytes = 0;

  Result<void> add(const std::string& local, std::vector<std::string> rel, int depth) {
    LocalItem it;
    it.local = local;
    it.rel = std::move(rel);
    if (::lstat(local.c_str(), &it.st) != 0) return errno_error("'" + local + "'");
    if (!it.rel.empty() && it.rel.back().size() > kMaxNameLength)
      return make_error(ENAMETOOLONG, "'" + local + "': " + std::strerror(ENAMETOOLONG));
    const mode_t fmt = it.st.st_mode & S_IFMT;
    if (fmt == S_IFSOCK) {
      warn_with(opts.warn, "'" + local + "': socket ignored");
      return {};
    }
    if (fmt == S_IFCHR || fmt == S_IFBLK || fmt == S_IFIFO)
      return make_error(ENOTSUP, "'" + local + "': devices and FIFOs cannot be created in the guest "
                                               "(not supported)");
    if (fmt == S_IFLNK) {
      std::string t(static_cast<size_t>(it.st.st_size) + 1 + 4096, '\0');
      ssize_t n = ::readlink(local.c_str(), t.data(), t.size());
      if (n < 0) return errno_error("'" + local + "'");
      t.resize(static_cast<size_t>(n));
      it.link_target = std::move(t);
    }
    // Data blocks, rounded up to 4 KiB; a block for each directory and link.
    bytes += fmt == S_IFREG ? (static_cast<uint64_t>(it.st.st_size) + 4095) / 4096 * 4096 : 4096;
    const bool is_dir = fmt == S_IFDIR;
    std::vector<std::string> here = it.rel;
    if (!it.rel.empty()) items.push_back(std::move(it));
    if (is_dir) DK_TRY(add_children(local, here, depth));
    return {};
  }

  Result<void> add_children(const std::string& dir, const std::vector<std::string>& rel, int depth) {
    if (depth >= kMaxWalkDepthLocal) return make_error(ELOOP, "'" + dir + "': tree is too deep");
    DIR* d = ::opendir(dir.c_str());
    if (!d) return errno_error("'" + dir + "'");
    std::vector<std::string> names;
    errno = 0;
    while (dirent* e = ::readdir(d)) {
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) names.emplace_back(e->d_name);
      errno = 0;
    }
    int err = errno;
    ::closedir(d);
    if (err) return errno_error("'" + dir + "'", err);
    std::sort(names.begin(), names.end());
    for (const std::string& n : names) {
      std::vector<std::string> r = rel;
      r.push_back(n);
      DK_TRY(add(dir == "/" ? "/" + n : dir + "/" + n, std::move(r), depth + 1));
    }
    return {};
  }

  static constexpr int kMaxWalkDepthLocal = 1024;
};

std::string rel_path(const std::vector<std::string>& rel, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += "/" + rel[i];
  return out;
}

Result<void> copy_file(const LocalItem& it, const GuestDir& parent, const NewFile& attr, const CopyOptions& opts) {
  const std::string& name = it.rel.back();
  const std::string gpath = join_guest(parent.path, name);
  int fd = ::open(it.local.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno_error("'" + it.local + "'");
  struct Closer { int fd; ~Closer() { ::close(fd); } } closer{fd};
  DK_TRY(clear_for_file(parent, name));
  InodePtr file = DK_TRY_CTX(parent.inode->create(name, attr), "'" + gpath + "'");
  std::vector<std::byte> buf(kChunk);
  uint64_t off = 0;
  static const std::byte kZeros[4096] = {};
  auto next = [&](uint64_t& at, std::span<const std::byte>& data) -> Result<bool> {
    for (;;) {
      ssize_t n = ::pread(fd, buf.data(), buf.size(), static_cast<off_t>(off));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno_error("reading '" + it.local + "'");
      if (n == 0) return false;
      at = off;
      off += static_cast<uint64_t>(n);
      data = std::span<const std::byte>(buf.data(), static_cast<size_t>(n));
      // All-zero chunks stay holes (the final truncate sets the size).
      bool zero = true;
      for (size_t i = 0; zero && i < data.size(); i += sizeof kZeros)
        zero = std::memcmp(data.data() + i, kZeros, std::min(sizeof kZeros, data.size() - i)) == 0;
      if (!zero) return true;
    }
  };
  DK_TRY(write_guest_data(*file, gpath, next, std::nullopt));
  if (off > 0) DK_TRY_CTX(file->truncate(off), "'" + gpath + "'");
  Timespec mt{it.st.st_mtim.tv_sec, static_cast<uint32_t>(it.st.st_mtim.tv_nsec)};
  std::optional<std::pair<uint32_t, uint32_t>> owner;
  if (opts.preserve_owner) owner = std::pair{it.st.st_uid, it.st.st_gid};
  return set_attrs(*file, gpath, it.st.st_mode & 07777, owner, mt,
                   opts.preserve_times ? std::optional<Timespec>(mt) : std::nullopt);
}

}  // namespace

Result<void> copy_in(const Mounts& tree, const std::vector<std::string>& local_paths, std::string_view guest_dir,
                     const CopyOptions& opts) {
  GuestDir top = DK_TRY(open_guest_dir(tree, guest_dir));
  Scanner sc{opts, {}, 0};
  for (const std::string& p : local_paths) {
    std::string base = base_of(p);
    // "." or "/" as a source: its contents go straight into the target.
    if (base == "." || base == ".." || base == "/" || base.empty()) {
      struct stat st;
      if (::stat(p.c_str(), &st) != 0) return errno_error("'" + p + "'");
      if (!S_ISDIR(st.st_mode)) return make_error(ENOTDIR, "'" + p + "': " + std::strerror(ENOTDIR));
      DK_TRY(sc.add_children(strip_slashes(p), {}, 0));
    } else {
      DK_TRY(sc.add(strip_slashes(p), {base}, 0));
    }
  }
  std::vector<Planned> plan;
  for (const LocalItem& it : sc.items) plan.push_back({it.rel, S_ISDIR(it.st.st_mode)});
  DK_TRY(check_conflicts(tree, top, plan));
  DK_TRY(check_space(tree, top.path, sc.bytes));

  std::map<std::string, GuestDir> dirs;
  dirs[""] = top;
  std::vector<std::pair<GuestDir, Timespec>> dir_times;
  for (const LocalItem& it : sc.items) {
    auto parent_it = dirs.find(rel_path(it.rel, it.rel.size() - 1));
    if (parent_it == dirs.end()) return make_error(EIO, "'" + it.local + "': parent was not copied");
    const GuestDir parent = parent_it->second;
    const std::string& name = it.rel.back();
    const std::string gpath = join_guest(parent.path, name);
    NewFile attr{it.st.st_mode & 07777, opts.preserve_owner ? it.st.st_uid : 0,
                 opts.preserve_owner ? it.st.st_gid : 0};
    Timespec mt{it.st.st_mtim.tv_sec, static_cast<uint32_t>(it.st.st_mtim.tv_nsec)};
    std::optional<std::pair<uint32_t, uint32_t>> owner;
    if (opts.preserve_owner) owner = std::pair{it.st.st_uid, it.st.st_gid};
    if (S_ISDIR(it.st.st_mode)) {
      GuestDir d = DK_TRY(enter_dir(tree, parent, name, true, attr));
      DK_TRY(set_attrs(*d.inode, gpath, attr.mode, owner, std::nullopt, std::nullopt));
      dirs[rel_path(it.rel, it.rel.size())] = d;
      if (opts.preserve_times) dir_times.emplace_back(d, mt);
    } else if (S_ISLNK(it.st.st_mode)) {
      DK_TRY(clear_for_file(parent, name));
      attr.mode = 0777;
      InodePtr l = DK_TRY_CTX(parent.inode->symlink(name, it.link_target, attr), "'" + gpath + "'");
      if (opts.preserve_times) DK_TRY(set_attrs(*l, gpath, std::nullopt, std::nullopt, mt, mt));
    } else {
      DK_TRY(copy_file(it, parent, attr, opts));
    }
  }
  // Directory times last: creating their entries touched them.
  for (auto i = dir_times.rbegin(); i != dir_times.rend(); ++i)
    DK_TRY(set_attrs(*i->first.inode, i->first.path, std::nullopt, std::nullopt, i->second, i->second));
  return {};
}

Result<void> upload(const Mounts& tree, const std::string& local_file, std::string_view guest_file) {
  auto [parent_path, name] = [&] {
    std::string g(guest_file);
    while (g.size() > 1 && g.back() == '/') g.pop_back();
    size_t slash = g.rfind('/');
    if (slash == std::string::npos) return std::pair<std::string, std::string>{"/", g};
    return std::pair<std::string, std::string>{slash == 0 ? "/" : g.substr(0, slash), g.substr(slash + 1)};
  }();
  if (name.empty() || name == "." || name == "..")
    return make_error(EINVAL, "'" + std::string(guest_file) + "': not a file name");
  GuestDir parent = DK_TRY(open_guest_dir(tree, parent_path));
  const bool from_stdin = local_file == "-";
  int fd = from_stdin ? STDIN_FILENO : ::open(local_file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_error("'" + local_file + "'");
  struct Closer { int fd; bool own; ~Closer() { if (own) ::close(fd); } } closer{fd, !from_stdin};
  const std::string gpath = join_guest(parent.path, name);
  // An existing file keeps its inode (mode, owner), as guestfs' upload does.
  InodePtr file = DK_TRY(lookup_opt(parent, name));
  if (file) {
    Stat st = DK_TRY_CTX(file->stat(), "'" + gpath + "'");
    if (st.type() == FileType::Directory) return make_error(EISDIR, "'" + gpath + "': " + std::strerror(EISDIR));
    if (st.type() != FileType::Regular) {
      DK_TRY(clear_for_file(parent, name));
      file.reset();
    } else {
      DK_TRY_CTX(file->truncate(0), "'" + gpath + "'");
    }
  }
  if (!file) file = DK_TRY_CTX(parent.inode->create(name, NewFile{0644, 0, 0}), "'" + gpath + "'");
  std::vector<std::byte> buf(kChunk);
  uint64_t off = 0;
  auto next = [&](uint64_t& at, std::span<const std::byte>& data) -> Result<bool> {
    for (;;) {
      ssize_t n = ::read(fd, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno_error("reading '" + local_file + "'");
      if (n == 0) return false;
      at = off;
      off += static_cast<uint64_t>(n);
      data = std::span<const std::byte>(buf.data(), static_cast<size_t>(n));
      return true;
    }
  };
  return write_guest_data(*file, gpath, next, std::nullopt);
}

}  // namespace dk::fs
