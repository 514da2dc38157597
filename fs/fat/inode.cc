// FAT: the read side of the inode interface, shown the way Linux's vfat
// shows it with default mount options.
#include <cstring>

#include "formats/core/checked_math.h"
#include "formats/core/endian.h"
#include "fs/fat/fat_internal.h"

namespace dk::fs::fat {
namespace {

constexpr uint32_t kUmask = 022;  // Linux's fmask/dmask default to the mounting process's umask

}  // namespace

Result<void> FatInode::check_alive() const {
  if (m_node->removed) return make_error(ESTALE, "'" + m_node->name + "': the file was removed");
  return {};
}

Result<void> FatInode::load() {
  DK_TRY(check_alive());
  if (!is_dir()) return make_error(ENOTDIR, std::strerror(ENOTDIR));
  Node& n = *m_node;
  if (n.dir_gen == m_fs.generation() && n.dir_view) return {};
  std::string what = n.root ? std::string("the root directory") : "directory '" + n.name + "'";
  auto view = std::make_shared<DirView>(DK_TRY(m_fs.load_dir(m_fs.dir_id(n), what)));
  n.dir_parsed = parse_directory(view->bytes);
  n.dir_index.clear();
  for (size_t i = 0; i < n.dir_parsed.size(); ++i) {
    const Parsed& p = n.dir_parsed[i];
    if (p.dot) continue;
    n.dir_index.emplace(fold_name(p.name), i);
    n.dir_index.emplace(fold_name(short_display(p.raw.name(), 0)), i);
  }
  n.dir_view = std::move(view);
  n.dir_gen = m_fs.generation();
  return {};
}

Result<Stat> FatInode::stat() {
  DK_TRY(check_alive());
  const Geometry& g = m_fs.geo();
  const Node& n = *m_node;
  Stat s;
  s.ino = n.ino;
  s.blksize = g.cluster_size;
  if (is_dir()) {
    DK_TRY(load());
    s.mode = S_IFDIR | (0777 & ~kUmask);
    uint64_t subdirs = 0;
    for (const Parsed& p : n.dir_parsed) subdirs += p.raw.is_dir() ? 1 : 0;
    // Linux counts "." and ".." as subdirectories; the root has neither.
    s.nlink = n.root ? subdirs + 2 : subdirs;
    if (s.nlink == 0) s.nlink = 1;
    s.size = n.dir_view->bytes.size();
  } else {
    s.mode = S_IFREG | (0777 & ~kUmask);
    if (n.raw.DIR_Attr() & kAttrReadOnly) s.mode &= ~uint32_t{0222};
    s.nlink = 1;
    s.size = n.raw.DIR_FileSize();
  }
  s.blocks = align_up(s.size, g.cluster_size) / 512;
  if (!n.root) {
    const uint8_t* b = n.raw.b.data();
    s.mtime = fat_to_unix(load_le16(b + 22), load_le16(b + 24));
    s.ctime = fat_to_unix(load_le16(b + 14), load_le16(b + 16), b[13]);
    s.atime = fat_to_unix(0, load_le16(b + 18));
    s.crtime = s.ctime;
  }
  return s;
}

Result<std::vector<DirEntry>> FatInode::readdir() {
  DK_TRY(load());
  std::vector<DirEntry> out;
  for (const Parsed& p : m_node->dir_parsed) {
    if (p.dot) continue;
    auto n = m_fs.node_for(p, *m_node->dir_view);
    out.push_back({p.name, n->ino, p.raw.is_dir() ? FileType::Directory : FileType::Regular});
  }
  return out;
}

Result<const Parsed*> FatInode::find(std::string_view name) {
  DK_TRY(load());
  if (name.empty() || name.size() > 4 * kMaxLfnUnits) return make_error(ENOENT, std::strerror(ENOENT));
  auto it = m_node->dir_index.find(fold_name(name));
  if (it == m_node->dir_index.end()) return make_error(ENOENT, std::strerror(ENOENT));
  return &m_node->dir_parsed[it->second];
}

Result<InodePtr> FatInode::lookup(std::string_view name) {
  const Parsed* p = DK_TRY(find(name));
  return m_fs.inode(m_fs.node_for(*p, *m_node->dir_view));
}

Result<size_t> FatInode::read(uint64_t off, std::span<std::byte> out) {
  DK_TRY(check_alive());
  if (is_dir()) return make_error(EISDIR, std::strerror(EISDIR));
  uint64_t size = m_node->raw.DIR_FileSize();
  if (off >= size || out.empty()) return size_t{0};
  size_t want = static_cast<size_t>(std::min<uint64_t>(out.size(), size - off));
  std::vector<uint32_t>* chain = DK_TRY(m_fs.file_chain(*m_node));
  DK_TRY(m_fs.read_chain(*chain, off, out.first(want)));
  return want;
}

Result<std::string> FatInode::readlink() {
  DK_TRY(check_alive());
  return make_error(EINVAL, std::strerror(EINVAL));
}

}  // namespace dk::fs::fat
