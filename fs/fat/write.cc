// FAT: the write side of the inode interface, with Linux vfat's rules
// (no symlinks, owners fixed at uid/gid 0, only the read-only attribute
// for permissions, short names made by vfat's basis-name algorithm).
#include <ctime>
#include <cstring>

#include "formats/core/checked_math.h"
#include "formats/core/endian.h"
#include "fs/fat/fat_internal.h"

namespace dk::fs::fat {
namespace {

constexpr uint64_t kMaxFileSize = 0xffffffffu;

Timespec now() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return {ts.tv_sec, static_cast<uint32_t>(ts.tv_nsec)};
}

void set_mtime(RawEntry& e, const Timespec& t) {
  uint16_t time, date;
  unix_to_fat(t, time, date, nullptr);
  store_le16(&e.b[22], time);
  store_le16(&e.b[24], date);
}

void set_atime(RawEntry& e, const Timespec& t) {
  uint16_t time, date;
  unix_to_fat(t, time, date, nullptr);
  store_le16(&e.b[18], date);
}

// A new entry: creation, modification and access times all now.
RawEntry new_entry(uint8_t attr, uint32_t cluster) {
  RawEntry e;
  e.b[11] = attr;
  e.set_first_cluster(cluster);
  Timespec t = now();
  uint16_t time, date;
  uint8_t cs;
  unix_to_fat(t, time, date, &cs);
  e.b[13] = cs;
  store_le16(&e.b[14], time);
  store_le16(&e.b[16], date);
  store_le16(&e.b[18], date);
  store_le16(&e.b[22], time);
  store_le16(&e.b[24], date);
  return e;
}

bool same_node(const std::shared_ptr<Node>& a, const std::shared_ptr<Node>& b) { return a.get() == b.get(); }

}  // namespace

Result<void> FatInode::store(Node& n) {
  if (n.root) return {};
  return m_fs.write_entry(n.entry_off, n.raw);
}

// Grows or shrinks (clusters past the end freed) the file's chain and
// records the size. Linux's FAT has no holes: what grows reads as zeros.
Result<void> FatInode::set_size(Node& n, uint64_t size, uint64_t keep_lo, uint64_t keep_hi) {
  const uint64_t cs = m_fs.geo().cluster_size;
  const uint64_t old = n.raw.DIR_FileSize();
  std::vector<uint32_t> chain = *DK_TRY(m_fs.file_chain(n));
  uint64_t need = div_round_up(size, cs);
  if (need > chain.size()) {
    if (!chain.empty()) {
      // A chain longer than the size said: its surplus is dropped first.
      uint32_t next = DK_TRY(m_fs.table().get(chain.back()));
      if (m_fs.geo().valid_cluster(next) && next < m_fs.geo().end_of_chain()) {
        DK_TRY(m_fs.free_chain(next));
        DK_TRY(m_fs.table().set(chain.back(), m_fs.geo().eoc_mark()));
      }
    }
    auto added = DK_TRY(m_fs.allocate(need - chain.size(), chain.empty() ? 0 : chain.back()));
    if (chain.empty()) n.raw.set_first_cluster(added[0]);
    chain.insert(chain.end(), added.begin(), added.end());
  } else if (need < chain.size()) {
    if (need == 0) {
      DK_TRY(m_fs.free_chain(chain[0]));
      n.raw.set_first_cluster(0);
    } else {
      DK_TRY(m_fs.table().set(chain[need - 1], m_fs.geo().eoc_mark()));
      DK_TRY(m_fs.free_chain(chain[need]));
    }
    chain.resize(need);
  }
  if (size > old) {
    // New clusters and the old last cluster past its end may hold old data.
    if (keep_hi <= keep_lo) keep_lo = keep_hi = size;
    DK_TRY(m_fs.zero_chain(chain, old, std::max(old, std::min(size, keep_lo))));
    DK_TRY(m_fs.zero_chain(chain, std::max(old, keep_hi), size));
  }
  n.chain = std::move(chain);
  n.chain_ok = true;
  n.raw.set_size(static_cast<uint32_t>(size));
  return {};
}

Result<size_t> FatInode::write(uint64_t off, std::span<const std::byte> in) {
  DK_TRY(check_alive());
  if (is_dir()) return make_error(EISDIR, std::strerror(EISDIR));
  DK_TRY(m_fs.require_writable());
  if (in.empty()) return size_t{0};
  auto end = checked_add(off, in.size());
  if (!end || *end > kMaxFileSize) return make_error(EFBIG, std::strerror(EFBIG));
  Node& n = *m_node;
  if (*end > n.raw.DIR_FileSize()) DK_TRY(set_size(n, *end, off, *end));
  std::vector<uint32_t>* chain = DK_TRY(m_fs.file_chain(n));
  DK_TRY(m_fs.write_chain(*chain, off, in));
  set_mtime(n.raw, now());
  n.raw.b[11] |= kAttrArchive;
  DK_TRY(store(n));
  DK_TRY(m_fs.maybe_commit());
  return in.size();
}

Result<void> FatInode::truncate(uint64_t size) {
  DK_TRY(check_alive());
  if (is_dir()) return make_error(EISDIR, std::strerror(EISDIR));
  DK_TRY(m_fs.require_writable());
  if (size > kMaxFileSize) return make_error(EFBIG, std::strerror(EFBIG));
  Node& n = *m_node;
  DK_TRY(set_size(n, size));
  set_mtime(n.raw, now());
  n.raw.b[11] |= kAttrArchive;
  DK_TRY(store(n));
  return m_fs.maybe_commit();
}

// Linux's fat_setattr/fat_sanitize_mode with umask 022: bits beyond 0777
// are EPERM; r/x bits that differ, or write bits it cannot hold, leave the
// mode as it is without an error ("too old behavior" to change, says Linux);
// a file's write bits map to the read-only attribute.
Result<void> FatInode::chmod(uint32_t mode) {
  DK_TRY(check_alive());
  DK_TRY(m_fs.require_writable());
  if (mode & 07000) return make_error(EPERM, std::strerror(EPERM));
  Stat st = DK_TRY(stat());
  uint32_t perm = mode & 0755;
  if ((perm & 0555) != (st.mode & 0555)) return {};
  if (is_dir()) return {};
  if ((perm & 0222) && (perm & 0222) != 0200) return {};
  Node& n = *m_node;
  if (perm & 0200) n.raw.b[11] &= static_cast<uint8_t>(~kAttrReadOnly);
  else n.raw.b[11] |= kAttrReadOnly;
  return store(n);
}

Result<void> FatInode::chown(std::optional<uint32_t> uid, std::optional<uint32_t> gid) {
  DK_TRY(check_alive());
  DK_TRY(m_fs.require_writable());
  if ((uid && *uid != 0) || (gid && *gid != 0)) return make_error(EPERM, std::strerror(EPERM));
  return {};
}

Result<void> FatInode::utimens(std::optional<Timespec> atime, std::optional<Timespec> mtime) {
  DK_TRY(check_alive());
  DK_TRY(m_fs.require_writable());
  Node& n = *m_node;
  if (n.root) return {};  // the root has no entry to keep times in
  if (atime) set_atime(n.raw, *atime);
  if (mtime) set_mtime(n.raw, *mtime);
  return store(n);
}

// ---- Directory operations ----

Result<uint64_t> FatInode::place_entry(std::string_view name, RawEntry& e) {
  std::u16string units = DK_TRY(long_name_units(name));
  DK_TRY(load());
  auto taken = [&](const ShortName& sn) {
    for (const Parsed& p : m_node->dir_parsed)
      if (p.raw.name() == sn) return true;
    return false;
  };
  ShortChoice sc = DK_TRY(make_short_name(units, taken));
  std::memcpy(e.b.data(), sc.name.data(), 11);
  e.b[12] = sc.ntres;
  std::vector<RawEntry> slots;
  if (sc.needs_lfn) slots = lfn_slots(units, sc.name);
  slots.push_back(e);
  const uint32_t total = static_cast<uint32_t>(slots.size());
  // The first run of free entries long enough, else the free run at the end plus new clusters.
  const DirView* view = m_node->dir_view.get();
  uint32_t run = 0, start = 0;
  bool found = false;
  for (uint32_t i = 0; i < view->entry_count(); ++i) {
    uint8_t b0 = view->bytes[size_t{i} * kEntrySize];
    if (b0 == kDeleted || b0 == 0) {
      if (run++ == 0) start = i;
      if (run == total) {
        found = true;
        break;
      }
    } else {
      run = 0;
    }
  }
  if (!found) {
    if (view->chain.empty()) return make_error(ENOSPC, "'" + m_fs.name() + "': the root directory is full");
    if (run == 0) start = view->entry_count();
    const uint64_t per_cluster = m_fs.geo().cluster_size / kEntrySize;
    uint64_t more = div_round_up(total - run, per_cluster);
    if ((view->entry_count() + more * per_cluster) * kEntrySize > kMaxDirBytes)
      return make_error(ENOSPC, "'" + m_node->name + "': the directory has FAT's maximum of 65536 entries");
    auto added = DK_TRY(m_fs.allocate(more, view->chain.back()));
    DK_TRY(m_fs.zero_clusters(added));
    DK_TRY(load());
    view = m_node->dir_view.get();
  }
  for (uint32_t i = 0; i < total; ++i) DK_TRY(m_fs.write_entry(view->entry_offset(start + i), slots[i]));
  return view->entry_offset(start + total - 1);
}

Result<void> FatInode::remove_entry(const Parsed& p, bool moving) {
  DK_TRY(load());
  std::shared_ptr<const DirView> view = m_node->dir_view;
  auto node = m_fs.node_for(p, *view);
  for (uint32_t i = p.first_slot; i <= p.short_slot; ++i) {
    RawEntry e;
    std::memcpy(e.b.data(), view->bytes.data() + size_t{i} * kEntrySize, kEntrySize);
    e.b[0] = kDeleted;
    DK_TRY(m_fs.write_entry(view->entry_offset(i), e));
  }
  if (!moving) node->removed = true;
  return {};
}

Result<InodePtr> FatInode::create(std::string_view name, const NewFile&) {
  DK_TRY(check_alive());
  if (!is_dir()) return make_error(ENOTDIR, std::strerror(ENOTDIR));
  DK_TRY(m_fs.require_writable());
  if (find(name)) return make_error(EEXIST, std::strerror(EEXIST));
  RawEntry e = new_entry(kAttrArchive, 0);
  uint64_t off = DK_TRY(place_entry(name, e));
  auto n = m_fs.node_at(off, e, m_fs.dir_id(*m_node), std::string(name));
  DK_TRY(m_fs.maybe_commit());
  return m_fs.inode(n);
}

Result<InodePtr> FatInode::mkdir(std::string_view name, const NewFile&) {
  DK_TRY(check_alive());
  if (!is_dir()) return make_error(ENOTDIR, std::strerror(ENOTDIR));
  DK_TRY(m_fs.require_writable());
  if (find(name)) return make_error(EEXIST, std::strerror(EEXIST));
  DK_TRY(long_name_units(name));
  auto cl = DK_TRY(m_fs.allocate(1, 0));
  DK_TRY(m_fs.zero_clusters(cl));
  // "." and ".." first, inside the new (still unreferenced) cluster.
  const uint64_t base = m_fs.geo().cluster_offset(cl[0]);
  RawEntry dot = new_entry(kAttrDir, cl[0]);
  std::memcpy(dot.b.data(), ".          ", 11);
  RawEntry dotdot = new_entry(kAttrDir, m_fs.dir_id(*m_node));
  std::memcpy(dotdot.b.data(), "..         ", 11);
  DK_TRY(m_fs.write_entry(base, dot));
  DK_TRY(m_fs.write_entry(base + kEntrySize, dotdot));
  RawEntry e = new_entry(kAttrDir, cl[0]);
  auto off = place_entry(name, e);
  if (!off) {
    (void)m_fs.free_chain(cl[0]);
    return make_error(off.error());
  }
  auto n = m_fs.node_at(*off, e, m_fs.dir_id(*m_node), std::string(name));
  DK_TRY(m_fs.maybe_commit());
  return m_fs.inode(n);
}

Result<InodePtr> FatInode::symlink(std::string_view, std::string_view, const NewFile&) {
  DK_TRY(check_alive());
  DK_TRY(m_fs.require_writable());
  return make_error(EPERM, "FAT file systems cannot hold symbolic links");
}

Result<bool> FatInode::dir_empty(uint32_t cluster, const std::string& name) {
  if (cluster == 0) return false;  // an entry naming the root: never removed
  DirView v = DK_TRY(m_fs.load_dir(cluster, "directory '" + name + "'"));
  for (const Parsed& p : parse_directory(v.bytes))
    if (!p.dot) return false;
  return true;
}

Result<void> FatInode::unlink(std::string_view name) {
  DK_TRY(check_alive());
  DK_TRY(m_fs.require_writable());
  Parsed p = *DK_TRY(find(name));
  if (p.raw.is_dir()) return make_error(EISDIR, std::strerror(EISDIR));
  DK_TRY(remove_entry(p, false));
  uint32_t first = p.raw.first_cluster(m_fs.geo().fat32());
  if (m_fs.geo().valid_cluster(first)) DK_TRY(m_fs.free_chain(first));
  return m_fs.maybe_commit();
}

Result<void> FatInode::rmdir(std::string_view name) {
  DK_TRY(check_alive());
  DK_TRY(m_fs.require_writable());
  Parsed p = *DK_TRY(find(name));
  if (!p.raw.is_dir()) return make_error(ENOTDIR, std::strerror(ENOTDIR));
  uint32_t c = m_fs.dir_id(*m_fs.node_for(p, *m_node->dir_view));
  if (!DK_TRY(dir_empty(c, p.name))) return make_error(ENOTEMPTY, std::strerror(ENOTEMPTY));
  DK_TRY(remove_entry(p, false));
  DK_TRY(m_fs.free_chain(c));
  return m_fs.maybe_commit();
}

Result<void> FatInode::check_not_ancestor(uint32_t moved) {
  uint32_t cur = m_fs.dir_id(*m_node);
  for (int steps = 0; steps < 65536; ++steps) {
    if (cur == moved) return make_error(EINVAL, "cannot move a directory into itself");
    if (cur == 0) return {};
    DirView v = DK_TRY(m_fs.load_dir(cur, "a directory"));
    uint32_t up = 0;
    bool found = false;
    for (const Parsed& p : parse_directory(v.bytes)) {
      if (p.dot && p.raw.name()[1] == '.') {
        up = p.raw.first_cluster(m_fs.geo().fat32());
        found = true;
        break;
      }
    }
    if (!found) return m_fs.corrupt("a directory has no '..' entry");
    cur = m_fs.geo().fat32() && up == m_fs.geo().root_cluster ? 0 : up;
  }
  return m_fs.corrupt("the '..' entries of the directories form a cycle");
}

Result<void> FatInode::rename(std::string_view name, Inode& new_parent, std::string_view new_name) {
  auto* np = dynamic_cast<FatInode*>(&new_parent);
  if (!np || &np->m_fs != &m_fs) return make_error(EXDEV, std::strerror(EXDEV));
  DK_TRY(check_alive());
  DK_TRY(np->check_alive());
  if (!is_dir() || !np->is_dir()) return make_error(ENOTDIR, std::strerror(ENOTDIR));
  DK_TRY(m_fs.require_writable());
  DK_TRY(long_name_units(new_name));
  Parsed src = *DK_TRY(find(name));
  auto src_node = m_fs.node_for(src, *m_node->dir_view);
  const bool is_dir_src = src.raw.is_dir();
  const uint32_t src_dir = is_dir_src ? m_fs.dir_id(*src_node) : 0;
  if (is_dir_src) DK_TRY(np->check_not_ancestor(src_dir));
  const uint32_t old_parent = m_fs.dir_id(*m_node), new_parent_id = m_fs.dir_id(*np->m_node);

  std::optional<Parsed> dest;
  std::shared_ptr<Node> dest_node;
  if (auto d = np->find(new_name)) {
    dest = **d;
    dest_node = m_fs.node_for(*dest, *np->m_node->dir_view);
    if (same_node(dest_node, src_node)) {
      if (dest->name == new_name) return {};  // rename to itself
      dest.reset();                           // a new spelling of the same entry
      dest_node.reset();
    } else if (is_dir_src && !dest->raw.is_dir()) {
      return make_error(ENOTDIR, std::strerror(ENOTDIR));
    } else if (!is_dir_src && dest->raw.is_dir()) {
      return make_error(EISDIR, std::strerror(EISDIR));
    } else if (is_dir_src && !DK_TRY(dir_empty(m_fs.dir_id(*dest_node), dest->name))) {
      return make_error(ENOTEMPTY, std::strerror(ENOTEMPTY));
    }
  } else if (d.error().code != ENOENT) {
    return make_error(d.error());
  }

  bool same_entry = !dest && np->m_node.get() == m_node.get() && fold_name(src.name) == fold_name(new_name);
  if (dest) DK_TRY(np->remove_entry(*dest, false));
  if (same_entry) DK_TRY(remove_entry(src, true));
  RawEntry e = src_node->raw;
  uint64_t off = DK_TRY(np->place_entry(new_name, e));
  if (!same_entry) {
    // The source's slots are found again by position (the listing was re-read).
    DK_TRY(load());
    const Parsed* again = nullptr;
    for (const Parsed& p : m_node->dir_parsed)
      if (m_node->dir_view->entry_offset(p.short_slot) == src_node->entry_off) again = &p;
    if (!again) return m_fs.corrupt("the entry of '" + src.name + "' vanished during a rename");
    Parsed copy = *again;
    DK_TRY(remove_entry(copy, true));
  }
  m_fs.rekey(*src_node, off);
  src_node->raw = e;
  src_node->name = std::string(new_name);
  src_node->parent_cluster = new_parent_id;
  if (is_dir_src && old_parent != new_parent_id && src_dir != 0) {
    DirView v = DK_TRY(m_fs.load_dir(src_dir, "directory '" + src_node->name + "'"));
    for (const Parsed& p : parse_directory(v.bytes)) {
      if (p.dot && p.raw.name()[1] == '.') {
        RawEntry up = p.raw;
        up.set_first_cluster(new_parent_id);
        DK_TRY(m_fs.write_entry(v.entry_offset(p.short_slot), up));
        break;
      }
    }
  }
  if (dest) {
    uint32_t first = dest->raw.first_cluster(m_fs.geo().fat32());
    if (m_fs.geo().valid_cluster(first) && !(dest->raw.is_dir() && m_fs.dir_id(*dest_node) == 0))
      DK_TRY(m_fs.free_chain(first));
  }
  return m_fs.maybe_commit();
}

}  // namespace dk::fs::fat
