// diskit mount --raw: each disk and partition of the guest as a regular file
// ("sda", "sda1", ...) whose bytes are the guest's, read and written through
// the format library. The files of one disk overlap (sda holds sda1), so
// the page cache is bypassed (direct_io): every read sees every write.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <mutex>
#include <vector>

#include "fuse/session.h"

namespace dk::fusefs {
namespace {

constexpr double kTimeout = 3600.0;  // the set of files and their sizes never change

struct Export {
  std::string name;  // "sda1"
  size_t disk = 0;
  uint64_t size = 0;
  std::unique_ptr<fmt::Layer> view;
};

struct FileHandle {};

class RawServer final : public Server {
 public:
  RawServer(std::unique_ptr<fs::Guest> g, bool ro) : m_guest(std::move(g)), m_read_only(ro) {}

  Result<void> init() {
    clock_gettime(CLOCK_REALTIME, &m_time);
    auto parts = m_guest->partitions();
    for (const fs::BlockDevice& d : m_guest->devices()) {
      DK_TRY(add(d));
      for (const fs::BlockDevice& p : parts)
        if (p.disk == d.disk) DK_TRY(add(p));
    }
    return {};
  }
  const fuse_lowlevel_ops& ops() const override;
  Result<void> close() override {
    Result<void> r = {};
    if (!m_flushed) r = flush_all();
    m_exports.clear();
    m_guest.reset();  // closes the images (and drops their locks)
    return r;
  }

  static RawServer& of(fuse_req_t req) {
    return *static_cast<RawServer*>(static_cast<Server*>(fuse_req_userdata(req)));
  }
  // The export of a node id (root is 1, exports start at 2), or null.
  Export* find(fuse_ino_t id) { return id >= 2 && id - 2 < m_exports.size() ? &m_exports[id - 2] : nullptr; }
  Export* find(const char* name) {
    for (auto& e : m_exports)
      if (e.name == name) return &e;
    return nullptr;
  }
  fuse_ino_t id_of(const Export& e) const { return static_cast<fuse_ino_t>(&e - m_exports.data()) + 2; }
  const std::vector<Export>& exports() const { return m_exports; }
  bool read_only() const { return m_read_only; }

  void to_stat(fuse_ino_t id, struct stat& st) const {
    std::memset(&st, 0, sizeof st);
    st.st_ino = id;
    st.st_uid = getuid();
    st.st_gid = getgid();
    st.st_atim = st.st_mtim = st.st_ctim = m_time;
    if (id == FUSE_ROOT_ID) {
      st.st_mode = S_IFDIR | 0755;
      st.st_nlink = 2;
      return;
    }
    const Export& e = m_exports[id - 2];
    st.st_mode = S_IFREG | (m_read_only ? 0444 : 0644);
    st.st_nlink = 1;
    st.st_size = static_cast<off_t>(e.size);
    st.st_blocks = static_cast<blkcnt_t>((e.size + 511) / 512);
    st.st_blksize = 1 << 20;
  }
  Result<void> flush_all() {
    if (m_read_only) return {};
    for (size_t i = 0; i < m_guest->disk_count(); ++i) DK_TRY(m_guest->disk(i).flush());
    return {};
  }
  Result<void> flush_disk(size_t disk) { return m_read_only ? Result<void>{} : m_guest->disk(disk).flush(); }

  std::mutex m_mu;  // the Layers are not thread-safe
  bool m_flushed = false;

 private:
  Result<void> add(const fs::BlockDevice& d) {
    Export e;
    e.name = d.name.substr(d.name.rfind('/') + 1);
    e.disk = d.disk;
    e.size = d.size;
    e.view = DK_TRY(m_guest->open_device(d));
    m_exports.push_back(std::move(e));
    return {};
  }

  std::unique_ptr<fs::Guest> m_guest;
  bool m_read_only;
  timespec m_time{};
  std::vector<Export> m_exports;
};

void op_destroy(void* userdata) {
  auto& s = *static_cast<RawServer*>(static_cast<Server*>(userdata));
  std::lock_guard lock(s.m_mu);
  auto r = s.flush_all();
  s.m_flushed = true;
  if (!r) log_error(r.error().message);
}

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  auto& s = RawServer::of(req);
  Export* e = parent == FUSE_ROOT_ID ? s.find(name) : nullptr;
  if (!e) return (void)fuse_reply_err(req, ENOENT);
  fuse_entry_param p;
  std::memset(&p, 0, sizeof p);
  p.ino = s.id_of(*e);
  s.to_stat(p.ino, p.attr);
  p.attr_timeout = p.entry_timeout = kTimeout;
  fuse_reply_entry(req, &p);
}

void op_getattr(fuse_req_t req, fuse_ino_t id, fuse_file_info*) {
  auto& s = RawServer::of(req);
  if (id != FUSE_ROOT_ID && !s.find(id)) return (void)fuse_reply_err(req, ENOENT);
  struct stat st;
  s.to_stat(id, st);
  fuse_reply_attr(req, &st, kTimeout);
}

void op_setattr(fuse_req_t req, fuse_ino_t id, struct stat* attr, int to_set, fuse_file_info*) {
  auto& s = RawServer::of(req);
  Export* e = s.find(id);
  if (!e) return (void)fuse_reply_err(req, id == FUSE_ROOT_ID ? EPERM : ENOENT);
  if (s.read_only()) return (void)fuse_reply_err(req, EROFS);
  // A disk's size is fixed here (like a block device's; `diskit resize`
  // changes it); owner, mode and times are those of the mount.
  if ((to_set & FUSE_SET_ATTR_SIZE) && static_cast<uint64_t>(attr->st_size) != e->size)
    return (void)fuse_reply_err(req, EINVAL);
  struct stat st;
  s.to_stat(id, st);
  fuse_reply_attr(req, &st, kTimeout);
}

void op_readdir(fuse_req_t req, fuse_ino_t id, size_t size, off_t off, fuse_file_info*) {
  auto& s = RawServer::of(req);
  if (id != FUSE_ROOT_ID) return (void)fuse_reply_err(req, ENOTDIR);
  std::vector<char> buf(size);
  size_t used = 0;
  const size_t total = s.exports().size() + 2;
  for (size_t i = off < 0 ? 0 : static_cast<size_t>(off); i < total; ++i) {
    struct stat st;
    std::memset(&st, 0, sizeof st);
    st.st_ino = i < 2 ? FUSE_ROOT_ID : i;  // export i-2 has id i
    st.st_mode = i < 2 ? S_IFDIR : S_IFREG;
    const char* name = i == 0 ? "." : i == 1 ? ".." : s.exports()[i - 2].name.c_str();
    size_t need = fuse_add_direntry(req, buf.data() + used, size - used, name, &st, static_cast<off_t>(i + 1));
    if (need > size - used) break;
    used += need;
  }
  fuse_reply_buf(req, buf.data(), used);
}

void op_open(fuse_req_t req, fuse_ino_t id, fuse_file_info* fi) {
  auto& s = RawServer::of(req);
  if (!s.find(id)) return (void)fuse_reply_err(req, id == FUSE_ROOT_ID ? EISDIR : ENOENT);
  if ((fi->flags & O_ACCMODE) != O_RDONLY && s.read_only()) return (void)fuse_reply_err(req, EROFS);
  fi->direct_io = 1;
  fi->fh = reinterpret_cast<uint64_t>(new FileHandle);
  if (fuse_reply_open(req, fi) != 0) delete reinterpret_cast<FileHandle*>(fi->fh);
}

void op_read(fuse_req_t req, fuse_ino_t id, size_t size, off_t off, fuse_file_info*) {
  auto& s = RawServer::of(req);
  Export* e = s.find(id);
  if (!e) return (void)fuse_reply_err(req, ENOENT);
  uint64_t o = static_cast<uint64_t>(off);
  size_t n = o >= e->size ? 0 : static_cast<size_t>(std::min<uint64_t>(size, e->size - o));
  thread_local std::vector<std::byte> buf;
  if (buf.size() < n) buf.resize(n);
  Result<void> r = {};
  if (n) {
    std::lock_guard lock(s.m_mu);
    r = e->view->read(o, std::span(buf.data(), n));
  }
  if (!r) return (void)fuse_reply_err(req, to_errno(r.error()));
  fuse_reply_buf(req, reinterpret_cast<const char*>(buf.data()), n);
}

void op_write(fuse_req_t req, fuse_ino_t id, const char* data, size_t size, off_t off, fuse_file_info* fi) {
  auto& s = RawServer::of(req);
  Export* e = s.find(id);
  if (!e) return (void)fuse_reply_err(req, ENOENT);
  if (s.read_only()) return (void)fuse_reply_err(req, EROFS);
  uint64_t o = static_cast<uint64_t>(off);
  // Like a block device: a write at the end is short, one past it ENOSPC.
  if (o >= e->size) return (void)fuse_reply_err(req, size ? ENOSPC : 0);
  size_t n = static_cast<size_t>(std::min<uint64_t>(size, e->size - o));
  Result<void> r = {};
  {
    std::lock_guard lock(s.m_mu);
    r = e->view->write(o, std::span(reinterpret_cast<const std::byte*>(data), n));
  }
  if (!r) return (void)fuse_reply_err(req, to_errno(r.error()));
  fuse_reply_write(req, n);
}

void sync_export(fuse_req_t req, fuse_ino_t id) {
  auto& s = RawServer::of(req);
  Export* e = s.find(id);
  if (!e) return (void)fuse_reply_err(req, ENOENT);
  Result<void> r = {};
  {
    std::lock_guard lock(s.m_mu);
    r = s.flush_disk(e->disk);
  }
  fuse_reply_err(req, r ? 0 : to_errno(r.error()));
}

// As for file systems (guest.cc): durable on fsync(2) and at unmount.
void op_flush(fuse_req_t req, fuse_ino_t, fuse_file_info*) { fuse_reply_err(req, 0); }

void op_fsync(fuse_req_t req, fuse_ino_t id, int, fuse_file_info*) { sync_export(req, id); }

void op_release(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  delete reinterpret_cast<FileHandle*>(fi->fh);
  fuse_reply_err(req, 0);
}

const fuse_lowlevel_ops kOps = [] {
  fuse_lowlevel_ops o;
  std::memset(&o, 0, sizeof o);
  o.destroy = op_destroy;
  o.lookup = op_lookup;
  o.getattr = op_getattr;
  o.setattr = op_setattr;
  o.readdir = op_readdir;
  o.open = op_open;
  o.read = op_read;
  o.write = op_write;
  o.flush = op_flush;
  o.fsync = op_fsync;
  o.release = op_release;
  return o;
}();

const fuse_lowlevel_ops& RawServer::ops() const { return kOps; }

}  // namespace

Result<int> serve_raw(std::unique_ptr<fs::Guest> guest, const ServeOptions& opts) {
  RawServer s(std::move(guest), opts.read_only);
  DK_TRY(s.init());
  return run_session(s, opts);
}

}  // namespace dk::fusefs
