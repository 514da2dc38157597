#include "appliance/host/remote_fs.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

namespace dk::appliance {

using nlohmann::json;

AgentCalls::~AgentCalls() = default;

namespace {

fs::Timespec time_of(const json& j) {
  fs::Timespec t;
  if (j.is_array() && j.size() == 2 && j[0].is_number_integer() && j[1].is_number_integer()) {
    t.sec = j[0].get<int64_t>();
    int64_t ns = j[1].get<int64_t>();
    t.nsec = ns >= 0 && ns < 1000000000 ? static_cast<uint32_t>(ns) : 0;
  }
  return t;
}

template <class T>
T num(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return T{};
  return it->get<T>();
}

std::string join(const std::string& dir, std::string_view name) {
  return dir == "/" ? "/" + std::string(name) : dir + "/" + std::string(name);
}

Result<void> check_name(std::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos)
    return make_error(EINVAL, "'" + std::string(name) + "': invalid file name");
  if (name.size() > fs::kMaxNameLength) return make_error(ENAMETOOLONG, "'" + std::string(name) + "': name is too long");
  return {};
}

json time_json(const std::optional<fs::Timespec>& t) {
  if (!t) return nullptr;
  return json::array({t->sec, t->nsec});
}

class RemoteInode : public fs::Inode {
 public:
  RemoteInode(RemoteFs& fs, std::string path, fs::Stat st) : m_fs(fs), m_path(std::move(path)), m_stat(st) {}

  uint64_t ino() const override { return m_stat.ino; }

  Result<fs::Stat> stat() override {
    if (m_stale) {
      json j = DK_TRY(m_fs.agent().call("lstat", m_fs.args(m_path)));
      m_stat = stat_from_json(j);
      m_stale = false;
    }
    return m_stat;
  }

  Result<std::vector<fs::DirEntry>> readdir() override {
    if (m_stat.type() != fs::FileType::Directory) return make_error(ENOTDIR, "'" + m_path + "': Not a directory");
    json list = DK_TRY(m_fs.agent().call("readdir", m_fs.args(m_path)));
    if (!list.is_array()) return make_error(EIO, "readdir '" + m_path + "': the agent sent no list");
    std::vector<fs::DirEntry> out;
    m_children.clear();
    for (const json& e : list) {
      auto name = e.find("name");
      if (name == e.end() || !name->is_string()) continue;
      fs::DirEntry d;
      d.name = name->get<std::string>();
      if (d.name.empty() || d.name == "." || d.name == ".." || d.name.find('/') != std::string::npos) continue;
      if (auto st = e.find("stat"); st != e.end() && st->is_object()) {
        fs::Stat s = stat_from_json(*st);
        d.ino = s.ino;
        d.type = s.type();
        m_children[d.name] = s;
      }
      out.push_back(std::move(d));
    }
    return out;
  }

  Result<fs::InodePtr> lookup(std::string_view name) override {
    DK_TRY(check_name(name));
    if (m_stat.type() != fs::FileType::Directory) return make_error(ENOTDIR, "'" + m_path + "': Not a directory");
    std::string p = join(m_path, name);
    json j = DK_TRY(m_fs.agent().call("lstat", m_fs.args(p)));
    return fs::InodePtr(std::make_shared<RemoteInode>(m_fs, p, stat_from_json(j)));
  }

  Result<fs::InodePtr> child(const fs::DirEntry& entry) override {
    auto it = m_children.find(entry.name);
    if (it == m_children.end()) return lookup(entry.name);
    return fs::InodePtr(std::make_shared<RemoteInode>(m_fs, join(m_path, entry.name), it->second));
  }

  Result<size_t> read(uint64_t off, std::span<std::byte> out) override {
    if (m_stat.type() == fs::FileType::Directory) return make_error(EISDIR, "'" + m_path + "': Is a directory");
    // The agent answers at most kReadChunk per request; a shorter answer
    // is the end of the file.
    constexpr size_t kReadChunk = 8u << 20;
    size_t done = 0;
    while (done < out.size()) {
      size_t want = std::min(kReadChunk, out.size() - done);
      json a = m_fs.args(m_path);
      a["offset"] = off + done;
      a["size"] = want;
      std::string data;
      DK_TRY(m_fs.agent().call_download("read", a, data));
      if (data.size() > want) return make_error(EIO, "read '" + m_path + "': the agent sent too much");
      std::memcpy(out.data() + done, data.data(), data.size());
      done += data.size();
      if (data.size() < want) break;
    }
    return done;
  }

  Result<std::string> readlink() override {
    if (m_stat.type() != fs::FileType::Symlink) return make_error(EINVAL, "'" + m_path + "': not a symbolic link");
    json j = DK_TRY(m_fs.agent().call("readlink", m_fs.args(m_path)));
    if (!j.is_string()) return make_error(EIO, "readlink '" + m_path + "': the agent sent no string");
    return j.get<std::string>();
  }

  Result<size_t> write(uint64_t off, std::span<const std::byte> in) override {
    DK_TRY(writable());
    if (m_stat.type() == fs::FileType::Directory) return make_error(EISDIR, "'" + m_path + "': Is a directory");
    json a = m_fs.args(m_path);
    a["offset"] = off;
    json r = DK_TRY(m_fs.agent().call_upload("write", a, in));
    m_stale = true;
    return static_cast<size_t>(num<uint64_t>(r, "size"));
  }

  Result<void> truncate(uint64_t size) override {
    DK_TRY(writable());
    json a = m_fs.args(m_path);
    a["size"] = size;
    return simple("truncate", a);
  }

  Result<void> chmod(uint32_t mode) override {
    DK_TRY(writable());
    json a = m_fs.args(m_path);
    a["mode"] = mode & 07777;
    return simple("chmod", a);
  }

  Result<void> chown(std::optional<uint32_t> uid, std::optional<uint32_t> gid) override {
    DK_TRY(writable());
    json a = m_fs.args(m_path);
    if (uid) a["uid"] = *uid;
    if (gid) a["gid"] = *gid;
    return simple("chown", a);
  }

  Result<void> utimens(std::optional<fs::Timespec> atime, std::optional<fs::Timespec> mtime) override {
    DK_TRY(writable());
    json a = m_fs.args(m_path);
    a["atime"] = time_json(atime);
    a["mtime"] = time_json(mtime);
    return simple("utimens", a);
  }

  Result<fs::InodePtr> create(std::string_view name, const fs::NewFile& attr) override {
    return make_child("create", name, attr, {});
  }
  Result<fs::InodePtr> mkdir(std::string_view name, const fs::NewFile& attr) override {
    return make_child("mkdir", name, attr, {});
  }
  Result<fs::InodePtr> symlink(std::string_view name, std::string_view target, const fs::NewFile& attr) override {
    return make_child("symlink", name, attr, std::string(target));
  }

  Result<void> unlink(std::string_view name) override { return remove("unlink", name); }
  Result<void> rmdir(std::string_view name) override { return remove("rmdir", name); }

  Result<void> rename(std::string_view name, fs::Inode& new_parent, std::string_view new_name) override {
    DK_TRY(writable());
    DK_TRY(check_name(name));
    DK_TRY(check_name(new_name));
    auto* np = dynamic_cast<RemoteInode*>(&new_parent);
    if (!np || &np->m_fs != &m_fs) return make_error(EXDEV, "rename: not the same file system");
    json a = m_fs.args(join(m_path, name));
    a["newpath"] = join(np->m_path, new_name);
    DK_TRY(m_fs.agent().call("rename", a));
    m_children.clear();
    np->m_children.clear();
    return {};
  }

 private:
  Result<void> writable() const {
    if (m_fs.read_only()) return make_error(EROFS, "'" + m_fs.device() + "' is mounted read-only");
    return {};
  }

  Result<void> simple(const char* op, const json& a) {
    DK_TRY(m_fs.agent().call(op, a));
    m_stale = true;
    return {};
  }

  Result<fs::InodePtr> make_child(const char* op, std::string_view name, const fs::NewFile& attr,
                                  std::optional<std::string> target) {
    DK_TRY(writable());
    DK_TRY(check_name(name));
    if (m_stat.type() != fs::FileType::Directory) return make_error(ENOTDIR, "'" + m_path + "': Not a directory");
    std::string p = join(m_path, name);
    json a = m_fs.args(p);
    a["mode"] = attr.mode & 07777;
    a["uid"] = attr.uid;
    a["gid"] = attr.gid;
    if (target) a["target"] = *target;
    json st = DK_TRY(m_fs.agent().call(op, a));
    m_children.erase(std::string(name));
    return fs::InodePtr(std::make_shared<RemoteInode>(m_fs, p, stat_from_json(st)));
  }

  Result<void> remove(const char* op, std::string_view name) {
    DK_TRY(writable());
    DK_TRY(check_name(name));
    DK_TRY(m_fs.agent().call(op, m_fs.args(join(m_path, name))));
    m_children.erase(std::string(name));
    return {};
  }

  RemoteFs& m_fs;
  std::string m_path;
  fs::Stat m_stat;
  bool m_stale = false;
  std::map<std::string, fs::Stat, std::less<>> m_children;  // lstat of the last readdir's entries
};

}  // namespace

fs::Stat stat_from_json(const json& j) {
  fs::Stat s;
  s.ino = num<uint64_t>(j, "ino");
  s.mode = num<uint32_t>(j, "mode");
  s.uid = num<uint32_t>(j, "uid");
  s.gid = num<uint32_t>(j, "gid");
  s.nlink = num<uint64_t>(j, "nlink");
  s.size = num<uint64_t>(j, "size");
  s.blocks = num<uint64_t>(j, "blocks");
  s.blksize = num<uint32_t>(j, "blksize");
  s.rdev = num<uint64_t>(j, "rdev");
  if (j.contains("atime")) s.atime = time_of(j["atime"]);
  if (j.contains("mtime")) s.mtime = time_of(j["mtime"]);
  if (j.contains("ctime")) s.ctime = time_of(j["ctime"]);
  return s;
}

RemoteFs::RemoteFs(AgentCalls& agent, int64_t mount_id, RemoteMountOptions o)
    : m_agent(agent), m_mount_id(mount_id), m_opts(std::move(o)) {}

RemoteFs::~RemoteFs() { (void)unmount(); }

json RemoteFs::args(const std::string& path) const { return json{{"mount", m_mount_id}, {"path", path}}; }

Result<fs::InodePtr> RemoteFs::root() {
  json j = DK_TRY(m_agent.call("stat", args("/")));
  return fs::InodePtr(std::make_shared<RemoteInode>(*this, "/", stat_from_json(j)));
}

Result<fs::StatVfs> RemoteFs::statvfs() {
  json j = DK_TRY(m_agent.call("statvfs", json{{"mount", m_mount_id}}));
  fs::StatVfs v;
  v.bsize = num<uint64_t>(j, "bsize");
  v.frsize = num<uint64_t>(j, "frsize");
  v.blocks = num<uint64_t>(j, "blocks");
  v.bfree = num<uint64_t>(j, "bfree");
  v.bavail = num<uint64_t>(j, "bavail");
  v.files = num<uint64_t>(j, "files");
  v.ffree = num<uint64_t>(j, "ffree");
  v.favail = num<uint64_t>(j, "favail");
  v.fsid = num<uint64_t>(j, "fsid");
  v.flag = num<uint64_t>(j, "flag");
  v.namemax = num<uint64_t>(j, "namemax");
  if (!m_opts.writable) v.flag |= ST_RDONLY;
  return v;
}

Result<void> RemoteFs::flush() {
  if (!m_mounted || !m_opts.writable) return {};
  DK_TRY(m_agent.call("sync", json{{"mount", m_mount_id}}));
  return {};
}

Result<void> RemoteFs::unmount() {
  if (!m_mounted) return {};
  m_mounted = false;
  DK_TRY(m_agent.call("umount", json{{"mount", m_mount_id}}));
  return {};
}

Result<std::unique_ptr<RemoteFs>> mount_remote(AgentCalls& agent, const RemoteMountOptions& o) {
  json a = {{"device", o.device}, {"readonly", !o.writable}};
  if (!o.vfstype.empty()) a["vfstype"] = o.vfstype;
  if (!o.options.empty()) a["options"] = o.options;
  json r = DK_TRY(agent.call("mount", a));
  auto id = r.find("mount");
  if (id == r.end() || !id->is_number_integer()) return make_error(EIO, "mount " + o.device + ": the agent sent no id");
  RemoteMountOptions opts = o;
  if (opts.type.empty() && r.contains("type") && r["type"].is_string()) opts.type = r["type"].get<std::string>();
  if (opts.type.empty()) opts.type = opts.vfstype;
  return std::make_unique<RemoteFs>(agent, id->get<int64_t>(), std::move(opts));
}

}  // namespace dk::appliance
