// Guest-side helpers of the copy and tar code: entering and creating
// directories below a target without leaving it, attributes best-effort.
#include <sys/statvfs.h>

#include <cstdio>
#include <cstring>

#include "fs/copy/copy_internal.h"

namespace dk::fs::copy_detail {

std::string join_guest(const std::string& dir, std::string_view name) {
  return dir == "/" ? "/" + std::string(name) : dir + "/" + std::string(name);
}

Result<GuestDir> open_guest_dir(const Mounts& tree, std::string_view path) {
  Mounts::Resolved r = DK_TRY(tree.resolve(path, true));
  Stat st = DK_TRY_CTX(r.inode->stat(), "'" + std::string(path) + "'");
  if (st.type() != FileType::Directory)
    return make_error(ENOTDIR, "'" + std::string(path) + "': " + std::strerror(ENOTDIR));
  return GuestDir{r.inode, r.path};
}

Result<InodePtr> lookup_opt(const GuestDir& dir, const std::string& name) {
  auto r = dir.inode->lookup(name);
  if (r) return *r;
  if (r.error().code == ENOENT) return InodePtr{};
  return make_error(r.error().with_context("'" + join_guest(dir.path, name) + "'"));
}

Result<GuestDir> enter_dir(const Mounts& tree, const GuestDir& dir, const std::string& name, bool create,
                           const NewFile& attr) {
  const std::string path = join_guest(dir.path, name);
  // A file system mounted here wins over the directory below it.
  for (const auto& m : tree.mounts())
    if (m.mountpoint == path) return GuestDir{DK_TRY(m.fs->root()), path};
  InodePtr child = DK_TRY(lookup_opt(dir, name));
  if (!child) {
    if (!create) return make_error(ENOENT, "'" + path + "': " + std::strerror(ENOENT));
    child = DK_TRY_CTX(dir.inode->mkdir(name, attr), "'" + path + "'");
    return GuestDir{child, path};
  }
  Stat st = DK_TRY_CTX(child->stat(), "'" + path + "'");
  if (st.type() != FileType::Directory)
    return make_error(ENOTDIR, "'" + path + "': exists and is not a directory");
  return GuestDir{child, path};
}

Result<void> clear_for_file(const GuestDir& dir, const std::string& name) {
  const std::string path = join_guest(dir.path, name);
  InodePtr old = DK_TRY(lookup_opt(dir, name));
  if (!old) return {};
  Stat st = DK_TRY_CTX(old->stat(), "'" + path + "'");
  if (st.type() == FileType::Directory)
    return make_error(EISDIR, "'" + path + "': a directory is in the way");
  DK_TRY_CTX(dir.inode->unlink(name), "'" + path + "'");
  return {};
}

namespace {
bool cannot_hold(const Result<void>& r) {
  return !r && (r.error().code == ENOTSUP || r.error().code == EPERM || r.error().code == EOPNOTSUPP);
}
}  // namespace

Result<void> set_attrs(Inode& inode, const std::string& guest_path, std::optional<uint32_t> mode,
                       std::optional<std::pair<uint32_t, uint32_t>> owner, std::optional<Timespec> atime,
                       std::optional<Timespec> mtime) {
  // Owner first: a chown may clear set-id bits the mode then restores.
  if (owner) {
    auto r = inode.chown(owner->first, owner->second);
    if (!r && !cannot_hold(r)) return make_error(r.error().with_context("'" + guest_path + "'"));
  }
  if (mode) {
    auto r = inode.chmod(*mode & 07777);
    if (!r && !cannot_hold(r)) return make_error(r.error().with_context("'" + guest_path + "'"));
  }
  if (atime || mtime) {
    auto r = inode.utimens(atime, mtime);
    if (!r && !cannot_hold(r)) return make_error(r.error().with_context("'" + guest_path + "'"));
  }
  return {};
}

Result<void> write_guest_data(Inode& file, const std::string& guest_path,
                              const std::function<Result<bool>(uint64_t&, std::span<const std::byte>&)>& next,
                              std::optional<uint64_t> size) {
  uint64_t end = 0;
  for (;;) {
    uint64_t off = 0;
    std::span<const std::byte> data;
    if (!DK_TRY(next(off, data))) break;
    if (data.empty()) continue;
    DK_TRY_CTX(file.write(off, data), "'" + guest_path + "'");
    end = std::max<uint64_t>(end, off + data.size());
  }
  if (size && *size != end) DK_TRY_CTX(file.truncate(*size), "'" + guest_path + "'");
  return {};
}

void warn_with(const std::function<void(const std::string&)>& warn, const std::string& msg) {
  if (warn) warn(msg);
  else std::fprintf(stderr, "diskit: warning: %s\n", msg.c_str());
}

Result<void> check_space(const Mounts& tree, std::string_view dir, uint64_t need) {
  Mounts::Resolved r = DK_TRY(tree.resolve(dir, true));
  StatVfs sv = DK_TRY_CTX(r.fs->statvfs(), "'" + std::string(dir) + "'");
  if (r.fs->read_only() || (sv.flag & ST_RDONLY))
    return make_error(EROFS, "'" + std::string(dir) + "': the " + std::string(r.fs->type_name()) +
                                 " file system is read-only");
  uint64_t unit = sv.frsize ? sv.frsize : sv.bsize;
  // bfree, not bavail: libguestfs writes as root, which may use the reserve.
  uint64_t avail = sv.bfree * unit;
  if (unit != 0 && avail / unit != sv.bfree) return {};  // absurd figures: let the writes decide
  if (need > avail)
    return make_error(ENOSPC, "'" + std::string(dir) + "': not enough free space: " + std::to_string(need) +
                                  " bytes needed, " + std::to_string(avail) + " available");
  return {};
}

Result<void> check_conflicts(const Mounts& tree, const GuestDir& top, const std::vector<Planned>& plan) {
  for (const Planned& p : plan) {
    GuestDir cur = top;
    for (size_t i = 0; i < p.rel.size(); ++i) {
      const std::string& name = p.rel[i];
      const bool last = i + 1 == p.rel.size();
      const std::string path = join_guest(cur.path, name);
      bool mounted = false;
      for (const auto& m : tree.mounts()) mounted |= m.mountpoint == path;
      InodePtr child;
      if (mounted) {
        cur = DK_TRY(enter_dir(tree, cur, name, false, {}));
        if (last && !p.is_dir) return make_error(EISDIR, "'" + path + "': a directory is in the way");
        continue;
      }
      child = DK_TRY(lookup_opt(cur, name));
      if (!child) break;  // created by the writes: nothing below can be in the way
      Stat st = DK_TRY_CTX(child->stat(), "'" + path + "'");
      const bool is_dir = st.type() == FileType::Directory;
      if (last) {
        if (p.is_dir && !is_dir) return make_error(ENOTDIR, "'" + path + "': exists and is not a directory");
        if (!p.is_dir && is_dir) return make_error(EISDIR, "'" + path + "': a directory is in the way");
        break;
      }
      if (!is_dir) return make_error(ENOTDIR, "'" + path + "': exists and is not a directory");
      cur = GuestDir{child, path};
    }
  }
  return {};
}

}  // namespace dk::fs::copy_detail
