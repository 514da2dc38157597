// The guest's mounted file systems as one FUSE tree (libfuse's low-level
// API). The kernel names files by node id; a table maps each id the kernel
// holds (lookup count > 0) to its Inode. The drivers are not thread-safe
// and file systems of one disk share its Layer, so one mutex guards every
// call into fs/; replies go out after it is released.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "fuse/session.h"

namespace dk::fusefs {
namespace {

constexpr double kWritableTimeout = 1.0;
// Nothing but this process changes a read-only mount's tree.
constexpr double kReadOnlyTimeout = 3600.0;

struct Node {
  fs::InodePtr inode;
  size_t fs = 0;
  uint64_t nlookup = 0;
};

struct DirHandle {
  fs::InodePtr dir;
  size_t fs = 0;
  fuse_ino_t id = 0;
  std::vector<fs::DirEntry> entries;
};

struct FileHandle {};

void to_stat(const fs::Stat& s, uint64_t st_ino, struct stat& out) {
  std::memset(&out, 0, sizeof out);
  out.st_ino = st_ino;
  out.st_mode = s.mode;
  out.st_nlink = s.nlink;
  out.st_uid = s.uid;
  out.st_gid = s.gid;
  out.st_size = static_cast<off_t>(s.size);
  out.st_blocks = static_cast<blkcnt_t>(s.blocks);
  out.st_blksize = s.blksize;
  out.st_rdev = s.rdev;
  out.st_atim = {s.atime.sec, s.atime.nsec};
  out.st_mtim = {s.mtime.sec, s.mtime.nsec};
  out.st_ctim = {s.ctime.sec, s.ctime.nsec};
}

class GuestServer final : public Server {
 public:
  GuestServer(std::unique_ptr<fs::Guest> g, std::unique_ptr<fs::GuestMounts> m, bool ro)
      : m_guest(std::move(g)), m_mounts(std::move(m)), m_read_only(ro) {}

  Result<void> init();
  const fuse_lowlevel_ops& ops() const override;
  Result<void> close() override;

  static GuestServer& of(fuse_req_t req) {
    return *static_cast<GuestServer*>(static_cast<Server*>(fuse_req_userdata(req)));
  }

  // ---- Called with m_mu held ----
  Node* node(fuse_ino_t id) {
    auto it = m_nodes.find(id);
    return it == m_nodes.end() ? nullptr : &it->second;
  }
  bool fs_read_only(size_t fsi) const { return m_read_only || m_fs[fsi]->read_only(); }
  double timeout() const { return m_read_only ? kReadOnlyTimeout : kWritableTimeout; }
  // The kernel's id of an inode: the inode number itself on the root file
  // system (its root swapped with id 1, FUSE's root), the file system index
  // in the top byte on the others.
  fuse_ino_t id_of(size_t fsi, uint64_t ino) const {
    if (fsi == 0) return ino == m_root_ino ? FUSE_ROOT_ID : ino == FUSE_ROOT_ID ? m_root_ino : ino;
    return (uint64_t{fsi} << 56) | ino;
  }
  uint64_t st_ino_of(size_t fsi, uint64_t ino) const { return fsi == 0 ? ino : id_of(fsi, ino); }
  // A directory another file system is mounted on is seen as that file
  // system's root.
  void cross(size_t& fsi, fs::InodePtr& ino) const {
    if (m_covered.empty()) return;
    auto it = m_covered.find({fsi, ino->ino()});
    if (it == m_covered.end()) return;
    fsi = it->second;
    ino = m_roots[fsi];
  }
  bool is_covered(size_t fsi, uint64_t ino) const { return m_covered.count({fsi, ino}) != 0; }
  // The entry reply for a child; counts the kernel's reference when `ref`.
  Result<fuse_entry_param> entry(size_t fsi, fs::InodePtr ino, bool ref) {
    cross(fsi, ino);
    fs::Stat st = DK_TRY(ino->stat());
    fuse_entry_param e;
    std::memset(&e, 0, sizeof e);
    e.ino = id_of(fsi, ino->ino());
    to_stat(st, st_ino_of(fsi, ino->ino()), e.attr);
    e.attr_timeout = e.entry_timeout = timeout();
    if (ref) add_ref(e.ino, fsi, std::move(ino));
    return e;
  }
  void add_ref(fuse_ino_t id, size_t fsi, fs::InodePtr ino) {
    auto [it, inserted] = m_nodes.try_emplace(id, Node{std::move(ino), fsi, 0});
    ++it->second.nlookup;
  }
  void forget(fuse_ino_t id, uint64_t n) {
    auto it = m_nodes.find(id);
    if (it == m_nodes.end() || id == FUSE_ROOT_ID) return;
    it->second.nlookup = n >= it->second.nlookup ? 0 : it->second.nlookup - n;
    if (it->second.nlookup == 0) m_nodes.erase(it);
  }
  Result<fs::StatVfs> statvfs(size_t fsi) { return m_fs[fsi]->statvfs(); }
  Result<void> flush_fs(size_t fsi) { return fs_read_only(fsi) ? Result<void>{} : m_fs[fsi]->flush(); }
  Result<void> flush_all() {
    if (m_read_only) return {};
    return m_mounts->flush_all();
  }

  std::mutex m_mu;
  bool m_flushed = false;

 private:
  std::unique_ptr<fs::Guest> m_guest;
  std::unique_ptr<fs::GuestMounts> m_mounts;
  bool m_read_only;
  std::vector<fs::FileSystem*> m_fs;  // index 0 is mounted at "/"
  std::vector<fs::InodePtr> m_roots;
  uint64_t m_root_ino = FUSE_ROOT_ID;
  std::map<std::pair<size_t, uint64_t>, size_t> m_covered;  // (fs, dir ino) -> fs mounted on it
  std::unordered_map<fuse_ino_t, Node> m_nodes;
};

Result<void> GuestServer::init() {
  const auto& entries = m_mounts->entries();
  std::vector<const fs::GuestMounts::Entry*> order;
  for (const auto& e : entries)
    if (e.mountpoint == "/") order.insert(order.begin(), &e);
    else order.push_back(&e);
  if (order.empty() || order[0]->mountpoint != "/") return make_error(ENOENT, "nothing is mounted at /");
  for (const auto* e : order) {
    m_fs.push_back(e->fs.get());
    m_roots.push_back(DK_TRY(e->fs->root()));
  }
  m_root_ino = m_roots[0]->ino();
  for (size_t k = 1; k < order.size(); ++k) {
    const std::string& mp = order[k]->mountpoint;
    size_t slash = mp.find_last_of('/');
    std::string parent = slash == 0 ? "/" : mp.substr(0, slash), base = mp.substr(slash + 1);
    // Mounts are in mount order, so the parent resolves through the file
    // systems mounted before this one.
    auto dir = DK_TRY(m_mounts->tree().resolve(parent));
    fs::InodePtr covered = DK_TRY(dir.inode->lookup(base));
    size_t parent_fs = 0;
    for (size_t i = 0; i < m_fs.size(); ++i)
      if (m_fs[i] == dir.fs) parent_fs = i;
    m_covered[{parent_fs, covered->ino()}] = k;
  }
  m_nodes[FUSE_ROOT_ID] = Node{m_roots[0], 0, 1};
  return {};
}

Result<void> GuestServer::close() {
  Result<void> r = {};
  if (!m_flushed) r = flush_all();
  m_nodes.clear();
  m_roots.clear();
  m_fs.clear();
  m_mounts.reset();  // closes the file systems
  m_guest.reset();   // closes the images (and drops their locks)
  return r;
}

// ---- Callbacks ----

void reply_error(fuse_req_t req, const Error& e) { fuse_reply_err(req, to_errno(e)); }

void op_init(void* userdata, fuse_conn_info* conn) {
  if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS;
  if (conn->capable & FUSE_CAP_READDIRPLUS_AUTO) conn->want |= FUSE_CAP_READDIRPLUS_AUTO;
  if (conn->capable & FUSE_CAP_CACHE_SYMLINKS) conn->want |= FUSE_CAP_CACHE_SYMLINKS;
  conn->max_readahead = 1u << 20;  // the kernel caps it at its own limit
  conn->time_gran = 1;
}

void op_destroy(void* userdata) {
  auto& s = *static_cast<GuestServer*>(static_cast<Server*>(userdata));
  std::lock_guard lock(s.m_mu);
  auto r = s.flush_all();
  s.m_flushed = true;
  if (!r) log_error(r.error().message);
}

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  auto& s = GuestServer::of(req);
  std::unique_lock lock(s.m_mu);
  Node* p = s.node(parent);
  if (!p) return (void)fuse_reply_err(req, ESTALE);
  auto child = p->inode->lookup(name);
  if (!child) {
    if (child.error().code == ENOENT && s.timeout() > kWritableTimeout) {
      // A read-only tree cannot gain the name: cache the miss too.
      fuse_entry_param e;
      std::memset(&e, 0, sizeof e);
      e.entry_timeout = s.timeout();
      lock.unlock();
      return (void)fuse_reply_entry(req, &e);
    }
    lock.unlock();
    return reply_error(req, child.error());
  }
  auto e = s.entry(p->fs, std::move(*child), true);
  lock.unlock();
  if (!e) return reply_error(req, e.error());
  fuse_reply_entry(req, &*e);
}

void op_forget(fuse_req_t req, fuse_ino_t id, uint64_t n) {
  auto& s = GuestServer::of(req);
  {
    std::lock_guard lock(s.m_mu);
    s.forget(id, n);
  }
  fuse_reply_none(req);
}

void op_forget_multi(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  auto& s = GuestServer::of(req);
  {
    std::lock_guard lock(s.m_mu);
    for (size_t i = 0; i < count; ++i) s.forget(forgets[i].ino, forgets[i].nlookup);
  }
  fuse_reply_none(req);
}

void reply_attr_of(fuse_req_t req, GuestServer& s, std::unique_lock<std::mutex>& lock, Node& n, fuse_ino_t id) {
  auto st = n.inode->stat();
  uint64_t st_ino = s.st_ino_of(n.fs, n.inode->ino());
  double t = s.timeout();
  lock.unlock();
  if (!st) return reply_error(req, st.error());
  struct stat out;
  to_stat(*st, st_ino, out);
  fuse_reply_attr(req, &out, t);
}

void op_getattr(fuse_req_t req, fuse_ino_t id, fuse_file_info*) {
  auto& s = GuestServer::of(req);
  std::unique_lock lock(s.m_mu);
  Node* n = s.node(id);
  if (!n) return (void)fuse_reply_err(req, ESTALE);
  reply_attr_of(req, s, lock, *n, id);
}

Result<void> apply_setattr(fs::Inode& ino, const struct stat& a, int to_set) {
  if (to_set & FUSE_SET_ATTR_MODE) DK_TRY(ino.chmod(a.st_mode & 07777));
  if (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
    std::optional<uint32_t> uid, gid;
    if (to_set & FUSE_SET_ATTR_UID) uid = a.st_uid;
    if (to_set & FUSE_SET_ATTR_GID) gid = a.st_gid;
    DK_TRY(ino.chown(uid, gid));
  }
  if (to_set & FUSE_SET_ATTR_SIZE) DK_TRY(ino.truncate(static_cast<uint64_t>(a.st_size)));
  if (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW)) {
    timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    auto pick = [&](int set, int set_now, const timespec& t) -> std::optional<fs::Timespec> {
      if (to_set & set_now) return fs::Timespec{now.tv_sec, static_cast<uint32_t>(now.tv_nsec)};
      if (to_set & set) return fs::Timespec{t.tv_sec, static_cast<uint32_t>(t.tv_nsec)};
      return std::nullopt;
    };
    DK_TRY(ino.utimens(pick(FUSE_SET_ATTR_ATIME, FUSE_SET_ATTR_ATIME_NOW, a.st_atim),
                       pick(FUSE_SET_ATTR_MTIME, FUSE_SET_ATTR_MTIME_NOW, a.st_mtim)));
  }
  return {};
}

void op_setattr(fuse_req_t req, fuse_ino_t id, struct stat* attr, int to_set, fuse_file_info*) {
  auto& s = GuestServer::of(req);
  std::unique_lock lock(s.m_mu);
  Node* n = s.node(id);
  if (!n) return (void)fuse_reply_err(req, ESTALE);
  if (s.fs_read_only(n->fs)) return (void)fuse_reply_err(req, EROFS);
  if (auto r = apply_setattr(*n->inode, *attr, to_set); !r) {
    lock.unlock();
    return reply_error(req, r.error());
  }
  reply_attr_of(req, s, lock, *n, id);
}

void op_readlink(fuse_req_t req, fuse_ino_t id) {
  auto& s = GuestServer::of(req);
  std::unique_lock lock(s.m_mu);
  Node* n = s.node(id);
  if (!n) return (void)fuse_reply_err(req, ESTALE);
  auto target = n->inode->readlink();
  lock.unlock();
  if (!target) return reply_error(req, target.error());
  fuse_reply_readlink(req, target->c_str());
}

// mkdir, create, mknod and symlink: make the child, then reply its entry.
template <class Make>
void make_child(fuse_req_t req, fuse_ino_t parent, Make make, fuse_file_info* fi = nullptr) {
  auto& s = GuestServer::of(req);
  std::unique_lock lock(s.m_mu);
  Node* p = s.node(parent);
  if (!p) return (void)fuse_reply_err(req, ESTALE);
  if (s.fs_read_only(p->fs)) return (void)fuse_reply_err(req, EROFS);
  Result<fs::InodePtr> child = make(*p->inode);
  if (!child) {
    lock.unlock();
    return reply_error(req, child.error());
  }
  auto e = s.entry(p->fs, std::move(*child), true);
  lock.unlock();
  if (!e) return reply_error(req, e.error());
  if (!fi) return (void)fuse_reply_entry(req, &*e);
  fi->fh = reinterpret_cast<uint64_t>(new FileHandle);
  fi->keep_cache = 1;
  if (fuse_reply_create(req, &*e, fi) != 0) delete reinterpret_cast<FileHandle*>(fi->fh);
}

fs::NewFile new_file(fuse_req_t req, mode_t mode) {
  const fuse_ctx* ctx = fuse_req_ctx(req);
  return fs::NewFile{static_cast<uint32_t>(mode & 07777), ctx->uid, ctx->gid};
}

void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  fs::NewFile nf = new_file(req, mode);
  make_child(req, parent, [&](fs::Inode& p) { return p.mkdir(name, nf); });
}

void op_mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t) {
  // The file-system interface makes regular files only (mknod(2): EPERM
  // when the file system does not support the type).
  if (!S_ISREG(mode)) return (void)fuse_reply_err(req, EPERM);
  fs::NewFile nf = new_file(req, mode);
  make_child(req, parent, [&](fs::Inode& p) { return p.create(name, nf); });
}

void op_create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, fuse_file_info* fi) {
  fs::NewFile nf = new_file(req, mode);
  make_child(req, parent, [&](fs::Inode& p) { return p.create(name, nf); }, fi);
}

void op_symlink(fuse_req_t req, const char* target, fuse_ino_t parent, const char* name) {
  fs::NewFile nf = new_file(req, 0777);
  make_child(req, parent, [&](fs::Inode& p) { return p.symlink(name, target, nf); });
}

void remove_child(fuse_req_t req, fuse_ino_t parent, const char* name, bool dir) {
  auto& s = GuestServer::of(req);
  std::unique_lock lock(s.m_mu);
  Node* p = s.node(parent);
  if (!p) return (void)fuse_reply_err(req, ESTALE);
  if (s.fs_read_only(p->fs)) return (void)fuse_reply_err(req, EROFS);
  if (dir) {
    // A directory another file system is mounted on stays (rmdir(2): EBUSY).
    if (auto c = p->inode->lookup(name); c && s.is_covered(p->fs, (*c)->ino()))
      return (void)fuse_reply_err(req, EBUSY);
  }
  Result<void> r = dir ? p->inode->rmdir(name) : p->inode->unlink(name);
  lock.unlock();
  if (!r) return reply_error(req, r.error());
  fuse_reply_err(req, 0);
}

void op_unlink(fuse_req_t req, fuse_ino_t parent, const char* name) { remove_child(req, parent, name, false); }
void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) { remove_child(req, parent, name, true); }

void op_rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent, const char* newname,
               unsigned int flags) {
  auto& s = GuestServer::of(req);
  std::unique_lock lock(s.m_mu);
  Node* p = s.node(parent);
  Node* np = s.node(newparent);
  if (!p || !np) return (void)fuse_reply_err(req, ESTALE);
  if (s.fs_read_only(p->fs)) return (void)fuse_reply_err(req, EROFS);
  if (p->fs != np->fs) return (void)fuse_reply_err(req, EXDEV);
  if (flags & ~static_cast<unsigned>(RENAME_NOREPLACE)) return (void)fuse_reply_err(req, EINVAL);
  if ((flags & RENAME_NOREPLACE) && np->inode->lookup(newname)) return (void)fuse_reply_err(req, EEXIST);
  auto r = p->inode->rename(name, *np->inode, newname);
  lock.unlock();
  if (!r) return reply_error(req, r.error());
  fuse_reply_err(req, 0);
}

void op_link(fuse_req_t req, fuse_ino_t, fuse_ino_t, const char*) {
  // The file-system interface has no hard links (link(2): EPERM).
  fuse_reply_err(req, EPERM);
}

void op_open(fuse_req_t req, fuse_ino_t id, fuse_file_info* fi) {
  auto& s = GuestServer::of(req);
  {
    std::lock_guard lock(s.m_mu);
    Node* n = s.node(id);
    if (!n) return (void)fuse_reply_err(req, ESTALE);
    if ((fi->flags & O_ACCMODE) != O_RDONLY && s.fs_read_only(n->fs)) return (void)fuse_reply_err(req, EROFS);
  }
  // Every change goes through this mount, so the kernel's cache stays valid.
  fi->keep_cache = 1;
  fi->fh = reinterpret_cast<uint64_t>(new FileHandle);
  if (fuse_reply_open(req, fi) != 0) delete reinterpret_cast<FileHandle*>(fi->fh);
}

void op_read(fuse_req_t req, fuse_ino_t id, size_t size, off_t off, fuse_file_info*) {
  auto& s = GuestServer::of(req);
  thread_local std::vector<std::byte> buf;
  if (buf.size() < size) buf.resize(size);
  Result<size_t> got = 0;
  {
    std::lock_guard lock(s.m_mu);
    Node* n = s.node(id);
    if (!n) return (void)fuse_reply_err(req, ESTALE);
    got = n->inode->read(static_cast<uint64_t>(off), std::span(buf.data(), size));
  }
  if (!got) return reply_error(req, got.error());
  fuse_reply_buf(req, reinterpret_cast<const char*>(buf.data()), *got);
}

void op_write(fuse_req_t req, fuse_ino_t id, const char* data, size_t size, off_t off, fuse_file_info* fi) {
  auto& s = GuestServer::of(req);
  Result<size_t> wrote = 0;
  {
    std::lock_guard lock(s.m_mu);
    Node* n = s.node(id);
    if (!n) return (void)fuse_reply_err(req, ESTALE);
    if (s.fs_read_only(n->fs)) return (void)fuse_reply_err(req, EROFS);
    wrote = n->inode->write(static_cast<uint64_t>(off), std::span(reinterpret_cast<const std::byte*>(data), size));
  }
  if (!wrote) return reply_error(req, wrote.error());
  fuse_reply_write(req, *wrote);
}

void sync_node(fuse_req_t req, fuse_ino_t id) {
  auto& s = GuestServer::of(req);
  Result<void> r = {};
  {
    std::lock_guard lock(s.m_mu);
    Node* n = s.node(id);
    if (!n) return (void)fuse_reply_err(req, ESTALE);
    r = s.flush_fs(n->fs);
  }
  if (!r) return reply_error(req, r.error());
  fuse_reply_err(req, 0);
}

// close(2) does not flush: like a local file system (and guestmount), data
// is durable after fsync(2) or at unmount. Flushing on every close made
// copying 4000 small files in take 4x longer (one host fsync per file).
void op_flush(fuse_req_t req, fuse_ino_t, fuse_file_info*) { fuse_reply_err(req, 0); }

void op_fsync(fuse_req_t req, fuse_ino_t id, int, fuse_file_info*) { sync_node(req, id); }
void op_fsyncdir(fuse_req_t req, fuse_ino_t id, int, fuse_file_info*) { sync_node(req, id); }

void op_release(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  delete reinterpret_cast<FileHandle*>(fi->fh);
  fuse_reply_err(req, 0);
}

void op_opendir(fuse_req_t req, fuse_ino_t id, fuse_file_info* fi) {
  auto& s = GuestServer::of(req);
  auto h = std::make_unique<DirHandle>();
  {
    std::lock_guard lock(s.m_mu);
    Node* n = s.node(id);
    if (!n) return (void)fuse_reply_err(req, ESTALE);
    auto ents = n->inode->readdir();
    if (!ents) return reply_error(req, ents.error());
    h->dir = n->inode;
    h->fs = n->fs;
    h->id = id;
    h->entries = std::move(*ents);
  }
  fi->fh = reinterpret_cast<uint64_t>(h.get());
  fi->cache_readdir = s.timeout() > kWritableTimeout;
  if (fuse_reply_open(req, fi) == 0) h.release();
}

mode_t dirent_mode(fs::FileType t) { return t == fs::FileType::Unknown ? 0 : fs::mode_bits_of(t); }

// readdir and readdirplus: "." and ".." first (offsets 1, 2), then the
// entries; the offset of an entry is its index + 1.
void read_dir(fuse_req_t req, size_t size, off_t off, fuse_file_info* fi, bool plus) {
  auto& s = GuestServer::of(req);
  auto* h = reinterpret_cast<DirHandle*>(fi->fh);
  std::vector<char> buf(size);
  size_t used = 0;
  std::unique_lock lock(s.m_mu);
  const size_t total = h->entries.size() + 2;
  for (size_t i = off < 0 ? 0 : static_cast<size_t>(off); i < total; ++i) {
    const char* name = i == 0 ? "." : i == 1 ? ".." : h->entries[i - 2].name.c_str();
    char* p = buf.data() + used;
    size_t rem = size - used, need = 0;
    if (!plus || i < 2) {
      struct stat st;
      std::memset(&st, 0, sizeof st);
      st.st_ino = i < 2 ? h->id : s.st_ino_of(h->fs, h->entries[i - 2].ino);
      st.st_mode = i < 2 ? S_IFDIR : dirent_mode(h->entries[i - 2].type);
      if (plus) {
        fuse_entry_param e;
        std::memset(&e, 0, sizeof e);
        e.attr = st;
        need = fuse_add_direntry_plus(req, p, rem, name, &e, static_cast<off_t>(i + 1));
      } else {
        need = fuse_add_direntry(req, p, rem, name, &st, static_cast<off_t>(i + 1));
      }
    } else {
      fuse_entry_param e;
      std::memset(&e, 0, sizeof e);
      auto child = h->dir->child(h->entries[i - 2]);
      if (child) {
        size_t fsi = h->fs;
        fs::InodePtr ino = *child;
        s.cross(fsi, ino);
        auto got = s.entry(fsi, ino, false);
        if (got) e = *got;
      }
      if (!e.ino) e.attr.st_mode = dirent_mode(h->entries[i - 2].type);  // name only
      need = fuse_add_direntry_plus(req, p, rem, name, &e, static_cast<off_t>(i + 1));
      // The kernel takes a reference only for entries that reached it.
      if (need <= rem && e.ino) {
        size_t fsi = h->fs;
        fs::InodePtr ino = *child;
        s.cross(fsi, ino);
        s.add_ref(e.ino, fsi, std::move(ino));
      }
    }
    if (need > rem) break;
    used += need;
  }
  lock.unlock();
  fuse_reply_buf(req, buf.data(), used);
}

void op_readdir(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  read_dir(req, size, off, fi, false);
}
void op_readdirplus(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  read_dir(req, size, off, fi, true);
}

void op_releasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  delete reinterpret_cast<DirHandle*>(fi->fh);
  fuse_reply_err(req, 0);
}

void op_statfs(fuse_req_t req, fuse_ino_t id) {
  auto& s = GuestServer::of(req);
  Result<fs::StatVfs> v = fs::StatVfs{};
  bool ro = true;
  {
    std::lock_guard lock(s.m_mu);
    Node* n = s.node(id);
    if (!n) n = s.node(FUSE_ROOT_ID);
    v = s.statvfs(n->fs);
    ro = s.fs_read_only(n->fs);
  }
  if (!v) return reply_error(req, v.error());
  struct statvfs out;
  std::memset(&out, 0, sizeof out);
  out.f_bsize = v->bsize;
  out.f_frsize = v->frsize;
  out.f_blocks = v->blocks;
  out.f_bfree = v->bfree;
  out.f_bavail = v->bavail;
  out.f_files = v->files;
  out.f_ffree = v->ffree;
  out.f_favail = v->favail;
  out.f_fsid = v->fsid;
  out.f_flag = v->flag | (ro ? ST_RDONLY : 0);
  out.f_namemax = v->namemax;
  fuse_reply_statfs(req, &out);
}

const fuse_lowlevel_ops kOps = [] {
  fuse_lowlevel_ops o;
  std::memset(&o, 0, sizeof o);
  o.init = op_init;
  o.destroy = op_destroy;
  o.lookup = op_lookup;
  o.forget = op_forget;
  o.forget_multi = op_forget_multi;
  o.getattr = op_getattr;
  o.setattr = op_setattr;
  o.readlink = op_readlink;
  o.mknod = op_mknod;
  o.mkdir = op_mkdir;
  o.unlink = op_unlink;
  o.rmdir = op_rmdir;
  o.symlink = op_symlink;
  o.rename = op_rename;
  o.link = op_link;
  o.open = op_open;
  o.read = op_read;
  o.write = op_write;
  o.flush = op_flush;
  o.release = op_release;
  o.fsync = op_fsync;
  o.opendir = op_opendir;
  o.readdir = op_readdir;
  o.readdirplus = op_readdirplus;
  o.releasedir = op_releasedir;
  o.fsyncdir = op_fsyncdir;
  o.statfs = op_statfs;
  o.create = op_create;
  return o;
}();

const fuse_lowlevel_ops& GuestServer::ops() const { return kOps; }

}  // namespace

Result<int> serve_guest(std::unique_ptr<fs::Guest> guest, std::unique_ptr<fs::GuestMounts> mounts,
                        const ServeOptions& opts) {
  GuestServer s(std::move(guest), std::move(mounts), opts.read_only);
  DK_TRY(s.init());
  return run_session(s, opts);
}

}  // namespace dk::fusefs
