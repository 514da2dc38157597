// ext2/3/4: opening, statvfs and the read side of the inode interface.
#include <endian.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>

#include <cstddef>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "fs/ext/ext_internal.h"
#include "formats/filters/filters.h"
#include "fs/ext/journal.h"
#include "fs/probe.h"

namespace dk::fs {
namespace ext {

tl::unexpected<Error> ext_error(errcode_t code, const std::string& what) {
  return make_error(ext_errno(code), what + ": " + ext_message(code));
}

namespace {

constexpr size_t kMaxDirEntries = size_t{1} << 24;
constexpr size_t kLargeInodeBase = EXT2_GOOD_OLD_INODE_SIZE;

// True when the large inode's extra area covers the field at [off, off+len).
bool extra_has(const ext2_inode_large& in, size_t off, size_t len) {
  return off + len <= kLargeInodeBase + size_t{in.i_extra_isize};
}

Timespec decode_time(uint32_t lo, uint32_t extra, bool has_extra) {
  Timespec t;
  t.sec = static_cast<int32_t>(lo);
  if (has_extra) {
    t.sec += static_cast<int64_t>(extra & 3) << 32;
    t.nsec = extra >> 2;
    if (t.nsec > 999999999) t.nsec = 0;
  }
  return t;
}

FileType type_of_dirent(int ft) {
  switch (ft) {
    case EXT2_FT_REG_FILE: return FileType::Regular;
    case EXT2_FT_DIR: return FileType::Directory;
    case EXT2_FT_CHRDEV: return FileType::CharDev;
    case EXT2_FT_BLKDEV: return FileType::BlockDev;
    case EXT2_FT_FIFO: return FileType::Fifo;
    case EXT2_FT_SOCK: return FileType::Socket;
    case EXT2_FT_SYMLINK: return FileType::Symlink;
    default: return FileType::Unknown;
  }
}

struct ReaddirState {
  std::vector<DirEntry>* out;
  bool too_many = false;
};

int readdir_cb(ext2_ino_t, int entry, struct ext2_dir_entry* d, int, int, char*, void* priv) {
  auto* st = static_cast<ReaddirState*>(priv);
  if (entry == DIRENT_DOT_FILE || entry == DIRENT_DOT_DOT_FILE || d->inode == 0) return 0;
  size_t len = ext2fs_dirent_name_len(d);
  std::string name(d->name, len);
  // Names that cannot be addressed by a path are skipped (hostile or corrupt).
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos)
    return 0;
  if (st->out->size() >= kMaxDirEntries) {
    st->too_many = true;
    return DIRENT_ABORT;
  }
  st->out->push_back({std::move(name), d->inode, type_of_dirent(ext2fs_dirent_file_type(d))});
  return 0;
}

}  // namespace

// ---- ExtFs ----

ExtFs::ExtFs(std::unique_ptr<fmt::Layer> dev, std::string channel, ext2_filsys fs, bool writable,
             std::string device_name)
    : m_dev(std::move(dev)), m_channel(std::move(channel)), m_fs(fs), m_writable(writable),
      m_device(std::move(device_name)) {
  auto p = probe_filesystem(*m_dev);
  m_type = p && p->found() ? p->type : "ext4";
}

ExtFs::~ExtFs() {
  // A writable file system is flushed here too; errors can only be
  // reported by an explicit flush() before.
  ext2fs_close_free(&m_fs);
  unregister_layer(m_channel);
}

Result<InodePtr> ExtFs::root() { return std::make_shared<ExtInode>(*this, EXT2_ROOT_INO); }

Result<void> ExtFs::flush() {
  if (!m_writable) return {};
  errcode_t err = ext2fs_flush(m_fs);
  if (err) return ext_error(err, "'" + m_device + "': flushing the file system");
  auto r = m_dev->flush();
  if (!r) return make_error(r.error().with_context("'" + m_device + "'"));
  return {};
}

Result<void> ExtFs::require_writable() {
  if (!m_writable) return make_error(EROFS, "'" + m_device + "': " + std::strerror(EROFS));
  return {};
}

std::string ExtFs::label() const {
  const char* v = reinterpret_cast<const char*>(m_fs->super->s_volume_name);
  return std::string(v, strnlen(v, sizeof m_fs->super->s_volume_name));
}

std::string ExtFs::uuid() const {
  const uint8_t* u = m_fs->super->s_uuid;
  char buf[40];
  std::snprintf(buf, sizeof buf,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
                u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
  return buf;
}

// Linux's ext4_statfs: blocks minus metadata overhead, free counts summed
// from the group descriptors, bavail minus the root reserve and (with
// extents) the kernel's own reserve of min(2%, 4096) clusters.
Result<StatVfs> ExtFs::statvfs() {
  ext2_super_block* sb = m_fs->super;
  StatVfs v;
  v.bsize = v.frsize = m_fs->blocksize;
  uint64_t overhead = sb->s_overhead_clusters;
  uint64_t free_blocks = 0, free_inodes = 0;
  for (dgrp_t g = 0; g < m_fs->group_desc_count; ++g) {
    free_blocks += ext2fs_bg_free_blocks_count(m_fs, g);
    free_inodes += ext2fs_bg_free_inodes_count(m_fs, g);
  }
  if (overhead == 0) {
    overhead = sb->s_first_data_block;
    for (dgrp_t g = 0; g < m_fs->group_desc_count; ++g) {
      blk64_t super_blk = 0, old_desc = 0, new_desc = 0;
      blk_t used = 0;
      if (ext2fs_super_and_bgd_loc2(m_fs, g, &super_blk, &old_desc, &new_desc, &used) == 0)
        overhead += used;
      overhead += 2 + m_fs->inode_blocks_per_group;
    }
    if (ext2fs_has_feature_journal(sb) && sb->s_journal_inum) {
      ext2_inode_large j{};
      if (read_inode(sb->s_journal_inum, j)) overhead += EXT2_I_SIZE(&j) / m_fs->blocksize;
    }
  }
  uint64_t total = ext2fs_blocks_count(sb);
  v.blocks = total > overhead ? total - overhead : 0;
  v.bfree = free_blocks;
  uint64_t resv = ext2fs_r_blocks_count(sb);
  if (ext2fs_has_feature_extents(sb)) resv += std::min<uint64_t>(total / 50, 4096);
  v.bavail = v.bfree > resv ? v.bfree - resv : 0;
  v.files = sb->s_inodes_count;
  v.ffree = v.favail = free_inodes;
  // The kernel's ext4_statfs: the two little-endian halves of the UUID
  // XORed, so f_fsid matches what statvfs(2) says on a mounted copy.
  uint64_t lo = 0, hi = 0;
  std::memcpy(&lo, sb->s_uuid, 8);
  std::memcpy(&hi, sb->s_uuid + 8, 8);
  v.fsid = le64toh(lo) ^ le64toh(hi);
  v.flag = m_writable ? 0 : ST_RDONLY;
  v.namemax = EXT2_NAME_LEN;
  return v;
}

Result<void> ExtFs::read_inode(ext2_ino_t ino, ext2_inode_large& out) {
  std::memset(&out, 0, sizeof out);
  errcode_t err = ext2fs_read_inode_full(m_fs, ino, reinterpret_cast<ext2_inode*>(&out), sizeof out);
  if (err) return ext_error(err, "'" + m_device + "': reading inode " + std::to_string(ino));
  if (EXT2_INODE_SIZE(m_fs->super) <= kLargeInodeBase) out.i_extra_isize = 0;
  if (out.i_extra_isize > EXT2_INODE_SIZE(m_fs->super) - kLargeInodeBase) out.i_extra_isize = 0;
  return {};
}

Result<void> ExtFs::write_inode(ext2_ino_t ino, ext2_inode_large& in) {
  DK_TRY(require_writable());
  errcode_t err = ext2fs_write_inode_full(m_fs, ino, reinterpret_cast<ext2_inode*>(&in), sizeof in);
  if (err) return ext_error(err, "'" + m_device + "': writing inode " + std::to_string(ino));
  return {};
}

// ---- ExtInode: reading ----

Result<Stat> ExtInode::stat() {
  ext2_inode_large in;
  DK_TRY(m_fs.read_inode(m_ino, in));
  Stat s;
  s.ino = m_ino;
  s.mode = in.i_mode;
  s.uid = inode_uid(in);
  s.gid = inode_gid(in);
  s.nlink = in.i_links_count;
  s.size = EXT2_I_SIZE(&in);
  s.blocks = ext2fs_get_stat_i_blocks(m_fs.fs(), reinterpret_cast<ext2_inode*>(&in));
  s.blksize = m_fs.fs()->blocksize;
  if (S_ISCHR(in.i_mode) || S_ISBLK(in.i_mode)) {
    // Old encoding in i_block[0], new (huge) in i_block[1], as Linux's ext4_iget.
    uint32_t old_dev = in.i_block[0], new_dev = in.i_block[1];
    if (old_dev) s.rdev = makedev((old_dev >> 8) & 0xff, old_dev & 0xff);
    else s.rdev = makedev((new_dev & 0xfff00) >> 8, (new_dev & 0xff) | ((new_dev >> 12) & 0xfff00));
  }
  s.atime = decode_time(in.i_atime, in.i_atime_extra,
                        extra_has(in, offsetof(ext2_inode_large, i_atime_extra), 4));
  s.mtime = decode_time(in.i_mtime, in.i_mtime_extra,
                        extra_has(in, offsetof(ext2_inode_large, i_mtime_extra), 4));
  s.ctime = decode_time(in.i_ctime, in.i_ctime_extra,
                        extra_has(in, offsetof(ext2_inode_large, i_ctime_extra), 4));
  if (extra_has(in, offsetof(ext2_inode_large, i_crtime), 4))
    s.crtime = decode_time(in.i_crtime, in.i_crtime_extra,
                           extra_has(in, offsetof(ext2_inode_large, i_crtime_extra), 4));
  return s;
}

Result<std::vector<DirEntry>> ExtInode::readdir() {
  std::vector<DirEntry> out;
  ReaddirState st{&out};
  errcode_t err = ext2fs_dir_iterate2(m_fs.fs(), m_ino, 0, nullptr,
                                      readdir_cb, &st);
  if (err) return ext_error(err, "'" + m_fs.device_name() + "': reading directory inode " + std::to_string(m_ino));
  if (st.too_many) return make_error(EFBIG, "'" + m_fs.device_name() + "': directory inode " +
                                                std::to_string(m_ino) + " has too many entries");
  return out;
}

Result<InodePtr> ExtInode::lookup(std::string_view name) {
  if (name.empty() || name.size() > EXT2_NAME_LEN || name.find('/') != std::string_view::npos)
    return make_error(ENOENT, std::strerror(ENOENT));
  errcode_t err = ext2fs_check_directory(m_fs.fs(), m_ino);
  if (err) return ext_error(err, "inode " + std::to_string(m_ino));
  ext2_ino_t child = 0;
  err = ext2fs_lookup(m_fs.fs(), m_ino, name.data(), static_cast<int>(name.size()), nullptr, &child);
  if (err == EXT2_ET_FILE_NOT_FOUND) return make_error(ENOENT, std::strerror(ENOENT));
  if (err) return ext_error(err, "looking up '" + std::string(name) + "'");
  if (child == 0 || child > m_fs.fs()->super->s_inodes_count)
    return make_error(EIO, "'" + m_fs.device_name() + "': directory entry '" + std::string(name) +
                               "' names invalid inode " + std::to_string(child));
  return std::make_shared<ExtInode>(m_fs, child);
}

Result<InodePtr> ExtInode::child(const DirEntry& entry) {
  if (entry.ino == 0 || entry.ino > m_fs.fs()->super->s_inodes_count) return lookup(entry.name);
  return std::make_shared<ExtInode>(m_fs, static_cast<ext2_ino_t>(entry.ino));
}

Result<size_t> ExtInode::read(uint64_t off, std::span<std::byte> out) {
  ext2_inode_large in;
  DK_TRY(m_fs.read_inode(m_ino, in));
  if (LINUX_S_ISDIR(in.i_mode)) return make_error(EISDIR, std::strerror(EISDIR));
  uint64_t size = EXT2_I_SIZE(&in);
  if (off >= size || out.empty()) return size_t{0};
  size_t want = static_cast<size_t>(std::min<uint64_t>(out.size(), size - off));
  if (LINUX_S_ISLNK(in.i_mode) && ext2fs_is_fast_symlink(reinterpret_cast<ext2_inode*>(&in))) {
    size_t cap = sizeof in.i_block;
    if (off >= cap) return size_t{0};
    want = std::min(want, cap - static_cast<size_t>(off));
    std::memcpy(out.data(), reinterpret_cast<const char*>(in.i_block) + off, want);
    return want;
  }
  if ((in.i_flags & EXT4_EXTENTS_FL) && !(in.i_flags & EXT4_INLINE_DATA_FL) && LINUX_S_ISREG(in.i_mode)) {
    DK_TRY(read_extents(in, off, out.first(want)));
    return want;
  }
  ext2_file_t file = nullptr;
  errcode_t err = ext2fs_file_open2(m_fs.fs(), m_ino, reinterpret_cast<ext2_inode*>(&in), 0, &file);
  if (err) return ext_error(err, "'" + m_fs.device_name() + "': opening inode " + std::to_string(m_ino));
  size_t done = 0;
  err = ext2fs_file_llseek(file, off, EXT2_SEEK_SET, nullptr);
  while (!err && done < want) {
    unsigned int got = 0;
    unsigned int chunk = static_cast<unsigned int>(std::min<size_t>(want - done, 1u << 30));
    err = ext2fs_file_read(file, out.data() + done, chunk, &got);
    if (got == 0) break;
    done += got;
  }
  ext2fs_file_close(file);
  if (err) return ext_error(err, "'" + m_fs.device_name() + "': reading inode " + std::to_string(m_ino));
  return done;
}

// libext2fs reads files one block per request; walking the extent leaves
// and reading each run at once is what makes a 20 MiB cat take milliseconds.
Result<void> ExtInode::read_extents(ext2_inode_large& in, uint64_t off, std::span<std::byte> out) {
  ext2_filsys fs = m_fs.fs();
  const uint64_t bs = fs->blocksize;
  const uint64_t end = off + out.size();
  const uint64_t fs_blocks = ext2fs_blocks_count(fs->super);
  const std::string what = "'" + m_fs.device_name() + "': reading inode " + std::to_string(m_ino);
  std::memset(out.data(), 0, out.size());  // holes and unwritten extents read as zero
  ext2_extent_handle_t h = nullptr;
  errcode_t err = ext2fs_extent_open2(fs, m_ino, reinterpret_cast<ext2_inode*>(&in), &h);
  if (err) return ext_error(err, what);
  struct Closer {
    ext2_extent_handle_t h;
    ~Closer() { ext2fs_extent_free(h); }
  } closer{h};
  ext2fs_extent e;
  err = ext2fs_extent_get(h, EXT2_EXTENT_ROOT, &e);
  uint64_t last_lblk_end = 0;
  for (size_t steps = 0; !err; ++steps) {
    if (steps > (size_t{1} << 24)) return make_error(EIO, what + ": extent tree does not end");
    if (e.e_flags & EXT2_EXTENT_FLAGS_LEAF) {
      uint64_t lstart = uint64_t{e.e_lblk} * bs, lend = (uint64_t{e.e_lblk} + e.e_len) * bs;
      // Leaves come in logical order; one going backwards is a corrupt (or cyclic) tree.
      if (uint64_t{e.e_lblk} + e.e_len < last_lblk_end) return make_error(EIO, what + ": extents out of order");
      last_lblk_end = uint64_t{e.e_lblk} + e.e_len;
      if (lstart >= end) break;
      if (lend > off && !(e.e_flags & EXT2_EXTENT_FLAGS_UNINIT) && e.e_len) {
        if (e.e_pblk >= fs_blocks || e.e_len > fs_blocks - e.e_pblk)
          return make_error(EIO, what + ": extent points beyond the file system");
        uint64_t a = std::max(lstart, off), b = std::min(lend, end);
        uint64_t phys = e.e_pblk * bs + (a - lstart);
        if (phys + (b - a) > m_fs.device().size())
          return make_error(EIO, what + ": extent points beyond the device");
        auto r = m_fs.device().read(phys, out.subspan(a - off, b - a));
        if (!r) return make_error(r.error().with_context(what));
      }
    }
    err = ext2fs_extent_get(h, EXT2_EXTENT_NEXT_LEAF, &e);
  }
  if (err && err != EXT2_ET_EXTENT_NO_NEXT) return ext_error(err, what);
  return {};
}

Result<std::string> ExtInode::readlink() {
  ext2_inode_large in;
  DK_TRY(m_fs.read_inode(m_ino, in));
  if (!LINUX_S_ISLNK(in.i_mode)) return make_error(EINVAL, std::strerror(EINVAL));
  uint64_t size = EXT2_I_SIZE(&in);
  if (size > kMaxPathLength)
    return make_error(ENAMETOOLONG, "'" + m_fs.device_name() + "': symlink inode " +
                                        std::to_string(m_ino) + " is too long");
  std::string target(size, '\0');
  size_t got = DK_TRY(read(0, std::as_writable_bytes(std::span(target.data(), target.size()))));
  target.resize(got);
  if (target.find('\0') != std::string::npos) target.resize(target.find('\0'));
  return target;
}

}  // namespace ext

namespace {

struct Opened {
  std::string channel;
  ext2_filsys fs = nullptr;
};

Result<Opened> open_on(fmt::Layer& dev, bool writable, const std::string& name) {
  Opened o;
  o.channel = ext::register_layer(dev, !writable);
  int flags = EXT2_FLAG_64BITS | (writable ? EXT2_FLAG_RW : 0);
  errcode_t err = ext2fs_open2(o.channel.c_str(), nullptr, flags, 0, 0, ext::layer_io_manager(), &o.fs);
  if (err) {
    ext::unregister_layer(o.channel);
    return ext::ext_error(err, "'" + name + "'");
  }
  return o;
}

void close_opened(Opened& o) {
  ext2fs_close_free(&o.fs);
  ext::unregister_layer(o.channel);
}

// Replays the journal into a memory overlay over dev; on success dev is
// replaced by the overlay (which owns it) and the replayed file system is
// opened on it.
Result<uint64_t> replay_into_overlay(std::unique_ptr<fmt::Layer>& dev, Opened& o, const std::string& name) {
  close_opened(o);
  auto ov = fmt::make_cow_overlay(std::move(dev), fmt::CowStorage::kMemory);
  if (!ov) return make_error(ov.error());
  dev = std::move(*ov);
  o = DK_TRY(open_on(*dev, false, name));
  auto n = ext::replay_journal(o.fs, *dev);
  close_opened(o);
  o = DK_TRY(open_on(*dev, false, name));
  return n;
}

}  // namespace

Result<std::unique_ptr<FileSystem>> open_ext(std::unique_ptr<fmt::Layer> dev, const ExtOpenOptions& opts) {
  static std::once_flag once;
  std::call_once(once, [] { initialize_ext2_error_table(); });
  const std::string name = opts.device_name.empty() ? dev->filename() : opts.device_name;
  if (opts.writable && !dev->writable()) return make_error(EROFS, "'" + name + "': the disk is read-only");
  Opened o = DK_TRY(open_on(*dev, opts.writable, name));
  auto warn = [&](const std::string& w) {
    if (opts.warn) opts.warn(w);
    else std::fprintf(stderr, "diskit: warning: %s\n", w.c_str());
  };
  if (ext2fs_has_feature_journal_needs_recovery(o.fs->super)) {
    if (opts.writable) {
      close_opened(o);
      return make_error(EROFS, "'" + name + "': the journal needs recovery; run e2fsck on the file "
                                            "system before writing to it");
    }
    // Reading: replay the journal into memory, never onto the image.
    auto n = replay_into_overlay(dev, o, name);
    if (!n) {
      if (!o.fs) return make_error(n.error());
      warn("'" + name + "': the journal needs recovery and could not be replayed (" + n.error().message +
           "); reading the file system without it (recent changes may be missing)");
    } else {
      warn("'" + name + "': the journal needs recovery; replayed " + std::to_string(*n) +
           " journal blocks in memory for reading (the image is not changed)");
    }
  }
  if (opts.writable) {
    errcode_t err = ext2fs_read_bitmaps(o.fs);
    if (err) {
      close_opened(o);
      return ext::ext_error(err, "'" + name + "': reading the allocation bitmaps");
    }
  }
  return std::unique_ptr<FileSystem>(
      std::make_unique<ext::ExtFs>(std::move(dev), o.channel, o.fs, opts.writable, name));
}

}  // namespace dk::fs
