// ext2/3/4: the write side of the inode interface, on libext2fs' primitives
// (the same steps e2fsprogs' debugfs and create_inode.c take, so e2fsck -fn
// finds the result clean).
#include <cstring>
#include <ctime>

#include "fs/ext/ext_internal.h"

namespace dk::fs::ext {
namespace {

bool valid_name(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos;
}

void set_now(uint32_t& lo, uint32_t& extra, bool has_extra) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  lo = static_cast<uint32_t>(ts.tv_sec);
  if (has_extra)
    extra = static_cast<uint32_t>(((ts.tv_sec >> 32) & 3) | (static_cast<uint64_t>(ts.tv_nsec) << 2));
}

bool has_extra_times(const ext2_inode_large& in) {
  return size_t{EXT2_GOOD_OLD_INODE_SIZE} + in.i_extra_isize >= offsetof(ext2_inode_large, i_crtime);
}

void touch(ext2_inode_large& in, bool mtime, bool ctime) {
  bool ex = has_extra_times(in);
  if (mtime) set_now(in.i_mtime, in.i_mtime_extra, ex);
  if (ctime) set_now(in.i_ctime, in.i_ctime_extra, ex);
}

int dirent_type_of(uint32_t mode) {
  if (LINUX_S_ISREG(mode)) return EXT2_FT_REG_FILE;
  if (LINUX_S_ISDIR(mode)) return EXT2_FT_DIR;
  if (LINUX_S_ISLNK(mode)) return EXT2_FT_SYMLINK;
  if (LINUX_S_ISCHR(mode)) return EXT2_FT_CHRDEV;
  if (LINUX_S_ISBLK(mode)) return EXT2_FT_BLKDEV;
  if (LINUX_S_ISFIFO(mode)) return EXT2_FT_FIFO;
  if (LINUX_S_ISSOCK(mode)) return EXT2_FT_SOCK;
  return EXT2_FT_UNKNOWN;
}

// ext2fs_link, growing the directory by one block when it is full.
errcode_t link_expanding(ext2_filsys fs, ext2_ino_t dir, const std::string& name, ext2_ino_t ino, int ft) {
  errcode_t err = ext2fs_link(fs, dir, name.c_str(), ino, ft);
  if (err == EXT2_ET_DIR_NO_SPACE) {
    err = ext2fs_expand_dir(fs, dir);
    if (!err) err = ext2fs_link(fs, dir, name.c_str(), ino, ft);
  }
  return err;
}

// Frees an inode whose last link is gone: its blocks, its xattr block, the inode itself.
Result<void> release_inode(ExtFs& efs, ext2_ino_t ino, ext2_inode_large& in) {
  ext2_filsys fs = efs.fs();
  const std::string what = "'" + efs.device_name() + "': freeing inode " + std::to_string(ino);
  in.i_links_count = 0;
  set_now(in.i_ctime, in.i_ctime_extra, has_extra_times(in));
  in.i_dtime = static_cast<uint32_t>(time(nullptr));
  if (ext2fs_inode_has_valid_blocks2(fs, reinterpret_cast<ext2_inode*>(&in))) {
    errcode_t err = ext2fs_punch(fs, ino, reinterpret_cast<ext2_inode*>(&in), nullptr, 0, ~0ULL);
    if (err) return ext_error(err, what);
  }
  blk64_t acl = ext2fs_file_acl_block(fs, reinterpret_cast<ext2_inode*>(&in));
  if (acl) {
    __u32 count = 0;
    errcode_t err = ext2fs_adjust_ea_refcount3(fs, acl, nullptr, -1, &count, ino);
    if (err) return ext_error(err, what);
    if (count == 0) ext2fs_block_alloc_stats2(fs, acl, -1);
    ext2fs_file_acl_block_set(fs, reinterpret_cast<ext2_inode*>(&in), 0);
  }
  DK_TRY(efs.write_inode(ino, in));
  ext2fs_inode_alloc_stats2(fs, ino, -1, LINUX_S_ISDIR(in.i_mode));
  return {};
}

Result<std::vector<DirEntry>> entries_of(ExtFs& efs, ext2_ino_t dir) {
  ExtInode d(efs, dir);
  return d.readdir();
}

struct DotDotState {
  ext2_ino_t new_parent;
};

int set_dotdot_cb(ext2_ino_t, int entry, struct ext2_dir_entry* d, int, int, char*, void* priv) {
  if (entry != DIRENT_DOT_DOT_FILE) return 0;
  d->inode = static_cast<DotDotState*>(priv)->new_parent;
  return DIRENT_CHANGED | DIRENT_ABORT;
}

Result<void> adjust_links(ExtFs& efs, ext2_ino_t ino, int delta) {
  ext2_inode_large in;
  DK_TRY(efs.read_inode(ino, in));
  if (delta < 0 && in.i_links_count > 0) --in.i_links_count;
  if (delta > 0 && in.i_links_count < 65000) ++in.i_links_count;
  touch(in, true, true);
  return efs.write_inode(ino, in);
}

}  // namespace

Result<ext2_ino_t> ExtInode::child_ino(std::string_view name) {
  auto child = DK_TRY(lookup(name));
  return static_cast<ext2_ino_t>(child->ino());
}

Result<void> ExtInode::check_writable_dir(std::string_view name) {
  DK_TRY(m_fs.require_writable());
  if (name.size() > EXT2_NAME_LEN) return make_error(ENAMETOOLONG, std::strerror(ENAMETOOLONG));
  if (!valid_name(name)) return make_error(EINVAL, "invalid file name '" + std::string(name) + "'");
  errcode_t err = ext2fs_check_directory(m_fs.fs(), m_ino);
  if (err) return ext_error(err, "inode " + std::to_string(m_ino));
  auto existing = lookup(name);
  if (existing) return make_error(EEXIST, "'" + std::string(name) + "': " + std::strerror(EEXIST));
  if (existing.error().code != ENOENT) return make_error(existing.error());
  return {};
}

Result<size_t> ExtInode::write(uint64_t off, std::span<const std::byte> in) {
  DK_TRY(m_fs.require_writable());
  ext2_inode_large ino;
  DK_TRY(m_fs.read_inode(m_ino, ino));
  if (!LINUX_S_ISREG(ino.i_mode)) return make_error(LINUX_S_ISDIR(ino.i_mode) ? EISDIR : EINVAL, "not a regular file");
  ext2_file_t file = nullptr;
  const std::string what = "'" + m_fs.device_name() + "': writing inode " + std::to_string(m_ino);
  errcode_t err = ext2fs_file_open(m_fs.fs(), m_ino, EXT2_FILE_WRITE, &file);
  if (err) return ext_error(err, what);
  size_t done = 0;
  err = ext2fs_file_llseek(file, off, EXT2_SEEK_SET, nullptr);
  while (!err && done < in.size()) {
    unsigned int wrote = 0;
    unsigned int chunk = static_cast<unsigned int>(std::min<size_t>(in.size() - done, 1u << 30));
    err = ext2fs_file_write(file, in.data() + done, chunk, &wrote);
    if (!err && wrote == 0) err = EXT2_ET_SHORT_WRITE;
    done += wrote;
  }
  errcode_t cerr = ext2fs_file_close(file);
  if (err || cerr) return ext_error(err ? err : cerr, what);
  DK_TRY(m_fs.read_inode(m_ino, ino));
  touch(ino, true, true);
  DK_TRY(m_fs.write_inode(m_ino, ino));
  return done;
}

Result<void> ExtInode::truncate(uint64_t size) {
  DK_TRY(m_fs.require_writable());
  ext2_inode_large ino;
  DK_TRY(m_fs.read_inode(m_ino, ino));
  if (!LINUX_S_ISREG(ino.i_mode)) return make_error(LINUX_S_ISDIR(ino.i_mode) ? EISDIR : EINVAL, "not a regular file");
  const std::string what = "'" + m_fs.device_name() + "': truncating inode " + std::to_string(m_ino);
  ext2_file_t file = nullptr;
  errcode_t err = ext2fs_file_open(m_fs.fs(), m_ino, EXT2_FILE_WRITE, &file);
  if (err) return ext_error(err, what);
  err = ext2fs_file_set_size2(file, size);
  errcode_t cerr = ext2fs_file_close(file);
  if (err || cerr) return ext_error(err ? err : cerr, what);
  DK_TRY(m_fs.read_inode(m_ino, ino));
  touch(ino, true, true);
  return m_fs.write_inode(m_ino, ino);
}

Result<void> ExtInode::chmod(uint32_t mode) {
  DK_TRY(m_fs.require_writable());
  ext2_inode_large in;
  DK_TRY(m_fs.read_inode(m_ino, in));
  in.i_mode = static_cast<uint16_t>((in.i_mode & LINUX_S_IFMT) | (mode & 07777));
  touch(in, false, true);
  return m_fs.write_inode(m_ino, in);
}

Result<void> ExtInode::chown(std::optional<uint32_t> uid, std::optional<uint32_t> gid) {
  DK_TRY(m_fs.require_writable());
  ext2_inode_large in;
  DK_TRY(m_fs.read_inode(m_ino, in));
  if (uid) {
    in.i_uid = static_cast<uint16_t>(*uid);
    ext2fs_set_i_uid_high(in, *uid >> 16);
  }
  if (gid) {
    in.i_gid = static_cast<uint16_t>(*gid);
    ext2fs_set_i_gid_high(in, *gid >> 16);
  }
  touch(in, false, true);
  return m_fs.write_inode(m_ino, in);
}

Result<void> ExtInode::utimens(std::optional<Timespec> atime, std::optional<Timespec> mtime) {
  DK_TRY(m_fs.require_writable());
  ext2_inode_large in;
  DK_TRY(m_fs.read_inode(m_ino, in));
  bool ex = has_extra_times(in);
  auto put = [ex](const Timespec& t, uint32_t& lo, uint32_t& extra) {
    lo = static_cast<uint32_t>(t.sec);
    if (ex) extra = static_cast<uint32_t>(((static_cast<uint64_t>(t.sec) >> 32) & 3) | (uint64_t{t.nsec} << 2));
  };
  if (atime) put(*atime, in.i_atime, in.i_atime_extra);
  if (mtime) put(*mtime, in.i_mtime, in.i_mtime_extra);
  touch(in, false, true);
  return m_fs.write_inode(m_ino, in);
}

Result<InodePtr> ExtInode::create(std::string_view name, const NewFile& attr) {
  DK_TRY(check_writable_dir(name));
  ext2_filsys fs = m_fs.fs();
  const std::string n(name);
  const std::string what = "'" + m_fs.device_name() + "': creating '" + n + "'";
  ext2_ino_t ino = 0;
  errcode_t err = ext2fs_new_inode(fs, m_ino, LINUX_S_IFREG | 0600, nullptr, &ino);
  if (err) return ext_error(err, what);
  err = link_expanding(fs, m_ino, n, ino, EXT2_FT_REG_FILE);
  if (err) return ext_error(err, what);
  ext2fs_inode_alloc_stats2(fs, ino, +1, 0);
  ext2_inode_large in;
  std::memset(&in, 0, sizeof in);
  in.i_mode = static_cast<uint16_t>(LINUX_S_IFREG | (attr.mode & 07777));
  in.i_uid = static_cast<uint16_t>(attr.uid);
  ext2fs_set_i_uid_high(in, attr.uid >> 16);
  in.i_gid = static_cast<uint16_t>(attr.gid);
  ext2fs_set_i_gid_high(in, attr.gid >> 16);
  in.i_links_count = 1;
  if (EXT2_INODE_SIZE(fs->super) > EXT2_GOOD_OLD_INODE_SIZE)
    in.i_extra_isize = sizeof(ext2_inode_large) - EXT2_GOOD_OLD_INODE_SIZE;
  touch(in, true, true);
  in.i_atime = in.i_mtime;
  in.i_atime_extra = in.i_mtime_extra;
  if (ext2fs_has_feature_extents(fs->super)) {
    in.i_flags |= EXT4_EXTENTS_FL;
    // An empty extent tree header in i_block, as create_inode.c sets up.
    ext2_extent_handle_t handle = nullptr;
    err = ext2fs_extent_open2(fs, ino, reinterpret_cast<ext2_inode*>(&in), &handle);
    if (err) return ext_error(err, what);
    ext2fs_extent_free(handle);
  }
  err = ext2fs_write_new_inode(fs, ino, reinterpret_cast<ext2_inode*>(&in));
  if (err) return ext_error(err, what);
  DK_TRY(adjust_links(m_fs, m_ino, 0));  // parent mtime/ctime
  return std::make_shared<ExtInode>(m_fs, ino);
}

Result<InodePtr> ExtInode::mkdir(std::string_view name, const NewFile& attr) {
  DK_TRY(check_writable_dir(name));
  ext2_filsys fs = m_fs.fs();
  const std::string n(name);
  const std::string what = "'" + m_fs.device_name() + "': creating directory '" + n + "'";
  errcode_t err = ext2fs_mkdir(fs, m_ino, 0, n.c_str());
  if (err == EXT2_ET_DIR_NO_SPACE) {
    err = ext2fs_expand_dir(fs, m_ino);
    if (!err) err = ext2fs_mkdir(fs, m_ino, 0, n.c_str());
  }
  if (err) return ext_error(err, what);
  ext2_ino_t ino = DK_TRY(child_ino(name));
  ext2_inode_large in;
  DK_TRY(m_fs.read_inode(ino, in));
  in.i_mode = static_cast<uint16_t>(LINUX_S_IFDIR | (attr.mode & 07777));
  in.i_uid = static_cast<uint16_t>(attr.uid);
  ext2fs_set_i_uid_high(in, attr.uid >> 16);
  in.i_gid = static_cast<uint16_t>(attr.gid);
  ext2fs_set_i_gid_high(in, attr.gid >> 16);
  DK_TRY(m_fs.write_inode(ino, in));
  return std::make_shared<ExtInode>(m_fs, ino);
}

Result<InodePtr> ExtInode::symlink(std::string_view name, std::string_view target, const NewFile& attr) {
  DK_TRY(check_writable_dir(name));
  if (target.empty() || target.size() >= m_fs.fs()->blocksize)
    return make_error(ENAMETOOLONG, "symlink target is empty or longer than a block");
  ext2_filsys fs = m_fs.fs();
  const std::string n(name), t(target);
  const std::string what = "'" + m_fs.device_name() + "': creating symlink '" + n + "'";
  errcode_t err = ext2fs_symlink(fs, m_ino, 0, n.c_str(), t.c_str());
  if (err == EXT2_ET_DIR_NO_SPACE) {
    err = ext2fs_expand_dir(fs, m_ino);
    if (!err) err = ext2fs_symlink(fs, m_ino, 0, n.c_str(), t.c_str());
  }
  if (err) return ext_error(err, what);
  ext2_ino_t ino = DK_TRY(child_ino(name));
  ext2_inode_large in;
  DK_TRY(m_fs.read_inode(ino, in));
  in.i_uid = static_cast<uint16_t>(attr.uid);
  ext2fs_set_i_uid_high(in, attr.uid >> 16);
  in.i_gid = static_cast<uint16_t>(attr.gid);
  ext2fs_set_i_gid_high(in, attr.gid >> 16);
  DK_TRY(m_fs.write_inode(ino, in));
  return std::make_shared<ExtInode>(m_fs, ino);
}

Result<void> ExtInode::unlink(std::string_view name) {
  DK_TRY(m_fs.require_writable());
  ext2_ino_t ino = DK_TRY(child_ino(name));
  ext2_inode_large in;
  DK_TRY(m_fs.read_inode(ino, in));
  if (LINUX_S_ISDIR(in.i_mode)) return make_error(EISDIR, "'" + std::string(name) + "': " + std::strerror(EISDIR));
  const std::string n(name);
  errcode_t err = ext2fs_unlink(m_fs.fs(), m_ino, n.c_str(), ino, 0);
  if (err) return ext_error(err, "'" + m_fs.device_name() + "': unlinking '" + n + "'");
  DK_TRY(adjust_links(m_fs, m_ino, 0));
  DK_TRY(m_fs.read_inode(ino, in));
  if (in.i_links_count > 1) {
    --in.i_links_count;
    touch(in, false, true);
    return m_fs.write_inode(ino, in);
  }
  return release_inode(m_fs, ino, in);
}

Result<void> ExtInode::rmdir(std::string_view name) {
  DK_TRY(m_fs.require_writable());
  ext2_ino_t ino = DK_TRY(child_ino(name));
  ext2_inode_large in;
  DK_TRY(m_fs.read_inode(ino, in));
  if (!LINUX_S_ISDIR(in.i_mode)) return make_error(ENOTDIR, "'" + std::string(name) + "': " + std::strerror(ENOTDIR));
  auto entries = DK_TRY(entries_of(m_fs, ino));
  if (!entries.empty()) return make_error(ENOTEMPTY, "'" + std::string(name) + "': " + std::strerror(ENOTEMPTY));
  const std::string n(name);
  errcode_t err = ext2fs_unlink(m_fs.fs(), m_ino, n.c_str(), ino, 0);
  if (err) return ext_error(err, "'" + m_fs.device_name() + "': removing '" + n + "'");
  DK_TRY(release_inode(m_fs, ino, in));
  return adjust_links(m_fs, m_ino, -1);  // the child's ".." pointed here
}

Result<void> ExtInode::rename(std::string_view name, Inode& new_parent_base, std::string_view new_name) {
  DK_TRY(m_fs.require_writable());
  auto* np = dynamic_cast<ExtInode*>(&new_parent_base);
  if (!np || &np->m_fs != &m_fs) return make_error(EXDEV, std::strerror(EXDEV));
  if (!valid_name(new_name)) return make_error(EINVAL, "invalid file name '" + std::string(new_name) + "'");
  if (new_name.size() > EXT2_NAME_LEN) return make_error(ENAMETOOLONG, std::strerror(ENAMETOOLONG));
  ext2_filsys fs = m_fs.fs();
  ext2_ino_t src = DK_TRY(child_ino(name));
  ext2_inode_large sin;
  DK_TRY(m_fs.read_inode(src, sin));
  bool is_dir = LINUX_S_ISDIR(sin.i_mode);
  if (np->m_ino == m_ino && name == new_name) return {};
  if (is_dir) {
    // Refuse moving a directory below itself: walk ".." up from the target (bounded).
    ext2_ino_t cur = np->m_ino;
    for (int depth = 0; depth < 4096 && cur != EXT2_ROOT_INO; ++depth) {
      if (cur == src) return make_error(EINVAL, "cannot move a directory into itself");
      auto up = ExtInode(m_fs, cur).lookup("..");
      if (!up) {
        ext2_ino_t parent = 0;
        if (ext2fs_lookup(fs, cur, "..", 2, nullptr, &parent) || parent == 0) break;
        cur = parent;
      } else {
        cur = static_cast<ext2_ino_t>((*up)->ino());
      }
    }
    if (cur == src) return make_error(EINVAL, "cannot move a directory into itself");
  }
  auto existing = np->lookup(new_name);
  if (existing) {
    ext2_inode_large tin;
    DK_TRY(m_fs.read_inode(static_cast<ext2_ino_t>((*existing)->ino()), tin));
    if ((*existing)->ino() == src) return {};
    if (LINUX_S_ISDIR(tin.i_mode) && !is_dir) return make_error(EISDIR, std::strerror(EISDIR));
    if (!LINUX_S_ISDIR(tin.i_mode) && is_dir) return make_error(ENOTDIR, std::strerror(ENOTDIR));
    if (is_dir) DK_TRY(np->rmdir(new_name));
    else DK_TRY(np->unlink(new_name));
  } else if (existing.error().code != ENOENT) {
    return make_error(existing.error());
  }
  const std::string what = "'" + m_fs.device_name() + "': renaming '" + std::string(name) + "'";
  errcode_t err = link_expanding(fs, np->m_ino, std::string(new_name), src, dirent_type_of(sin.i_mode));
  if (err) return ext_error(err, what);
  err = ext2fs_unlink(fs, m_ino, std::string(name).c_str(), src, 0);
  if (err) return ext_error(err, what);
  if (is_dir && np->m_ino != m_ino) {
    DotDotState st{np->m_ino};
    err = ext2fs_dir_iterate2(fs, src, DIRENT_FLAG_INCLUDE_EMPTY, nullptr, set_dotdot_cb, &st);
    if (err) return ext_error(err, what);
    DK_TRY(adjust_links(m_fs, m_ino, -1));
    DK_TRY(adjust_links(np->m_ino == m_ino ? m_fs : np->m_fs, np->m_ino, +1));
  } else {
    DK_TRY(adjust_links(m_fs, m_ino, 0));
    if (np->m_ino != m_ino) DK_TRY(adjust_links(m_fs, np->m_ino, 0));
  }
  DK_TRY(m_fs.read_inode(src, sin));
  touch(sin, false, true);
  return m_fs.write_inode(src, sin);
}

}  // namespace dk::fs::ext
