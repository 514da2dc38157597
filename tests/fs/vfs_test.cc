// Path resolution over an in-memory file system: symlinks inside the guest,
// ".." never leaving the root, loops bounded, mounts crossed.
#include <gtest/gtest.h>

#include <cstring>
#include <map>

#include "fs/vfs.h"
#include "fs/walk.h"

namespace dk::fs {
namespace {

class MemFs;

struct Node {
  uint32_t mode;
  std::string data;  // file contents or link target
  std::map<std::string, uint64_t> children;
};

class MemInode : public Inode {
 public:
  MemInode(MemFs& fs, uint64_t ino) : m_fs(fs), m_ino(ino) {}
  uint64_t ino() const override { return m_ino; }
  Result<Stat> stat() override;
  Result<std::vector<DirEntry>> readdir() override;
  Result<InodePtr> lookup(std::string_view name) override;
  Result<size_t> read(uint64_t off, std::span<std::byte> out) override;
  Result<std::string> readlink() override;

 private:
  MemFs& m_fs;
  uint64_t m_ino;
};

class MemFs : public FileSystem {
 public:
  MemFs() { nodes[1] = {S_IFDIR | 0755, "", {}}; }
  std::map<uint64_t, Node> nodes;
  uint64_t next = 2;

  uint64_t add(uint64_t parent, const std::string& name, uint32_t mode, std::string data = {}) {
    uint64_t n = next++;
    nodes[n] = {mode, std::move(data), {}};
    nodes[parent].children[name] = n;
    return n;
  }
  std::string_view type_name() const override { return "mem"; }
  Result<InodePtr> root() override { return std::make_shared<MemInode>(*this, 1); }
  Result<StatVfs> statvfs() override { return StatVfs{}; }
  bool read_only() const override { return true; }
  Result<void> flush() override { return {}; }
};

Result<Stat> MemInode::stat() {
  Stat s;
  s.ino = m_ino;
  s.mode = m_fs.nodes[m_ino].mode;
  s.size = m_fs.nodes[m_ino].data.size();
  return s;
}
Result<std::vector<DirEntry>> MemInode::readdir() {
  std::vector<DirEntry> out;
  for (auto& [n, i] : m_fs.nodes[m_ino].children) out.push_back({n, i, FileType::Unknown});
  return out;
}
Result<InodePtr> MemInode::lookup(std::string_view name) {
  Node& n = m_fs.nodes[m_ino];
  if (!S_ISDIR(n.mode)) return make_error(ENOTDIR, "not a directory");
  auto it = n.children.find(std::string(name));
  if (it == n.children.end()) return make_error(ENOENT, "missing");
  return std::make_shared<MemInode>(m_fs, it->second);
}
Result<size_t> MemInode::read(uint64_t off, std::span<std::byte> out) {
  const std::string& d = m_fs.nodes[m_ino].data;
  if (off >= d.size()) return size_t{0};
  size_t n = std::min(out.size(), d.size() - off);
  std::memcpy(out.data(), d.data() + off, n);
  return n;
}
Result<std::string> MemInode::readlink() {
  if (!S_ISLNK(m_fs.nodes[m_ino].mode)) return make_error(EINVAL, "not a link");
  return m_fs.nodes[m_ino].data;
}

class VfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    etc = fs.add(1, "etc", S_IFDIR | 0755);
    passwd = fs.add(etc, "passwd", S_IFREG | 0644, "root\n");
    usr = fs.add(1, "usr", S_IFDIR | 0755);
    bin = fs.add(usr, "bin", S_IFDIR | 0755);
    fs.add(bin, "sh", S_IFREG | 0755, "ELF");
    fs.add(1, "bin", S_IFLNK | 0777, "usr/bin");
    fs.add(etc, "abs", S_IFLNK | 0777, "/etc/passwd");
    fs.add(etc, "escape", S_IFLNK | 0777, "../../../../etc/passwd");
    fs.add(etc, "loop1", S_IFLNK | 0777, "loop2");
    fs.add(etc, "loop2", S_IFLNK | 0777, "loop1");
    fs.add(etc, "dangling", S_IFLNK | 0777, "nothere");
  }
  MemFs fs;
  uint64_t etc, passwd, usr, bin;
};

TEST_F(VfsTest, Basics) {
  EXPECT_EQ((*resolve(fs, "/etc/passwd"))->ino(), passwd);
  EXPECT_EQ((*resolve(fs, "etc//./passwd/"))->ino(), passwd);
  EXPECT_EQ((*resolve(fs, "/"))->ino(), 1u);
  EXPECT_EQ(resolve(fs, "/etc/none").error().code, ENOENT);
  EXPECT_EQ(resolve(fs, "/etc/passwd/x").error().code, ENOTDIR);
  EXPECT_EQ(resolve(fs, "/etc/none").error().message, "'/etc/none': No such file or directory");
}

TEST_F(VfsTest, DotDotStaysInsideRoot) {
  EXPECT_EQ((*resolve(fs, "/../../etc/../etc/passwd"))->ino(), passwd);
  EXPECT_EQ((*resolve(fs, "/etc/escape"))->ino(), passwd);
}

TEST_F(VfsTest, Symlinks) {
  EXPECT_EQ((*resolve(fs, "/bin/sh"))->ino(), (*resolve(fs, "/usr/bin/sh"))->ino());
  EXPECT_EQ((*resolve(fs, "/etc/abs"))->ino(), passwd);
  auto nofollow = resolve(fs, "/etc/abs", false);
  ASSERT_TRUE(nofollow);
  EXPECT_EQ((*nofollow->get()->stat()).type(), FileType::Symlink);
  EXPECT_EQ(resolve(fs, "/etc/loop1").error().code, ELOOP);
  EXPECT_EQ(resolve(fs, "/etc/dangling").error().code, ENOENT);
  EXPECT_TRUE(resolve(fs, "/etc/dangling", false));
  // "bin/.." is the directory containing usr/bin's target parent: /usr.
  EXPECT_EQ((*resolve(fs, "/bin/.."))->ino(), usr);
}

TEST_F(VfsTest, LongPathsRefused) {
  std::string p(5000, 'a');
  EXPECT_EQ(resolve(fs, p).error().code, ENAMETOOLONG);
  EXPECT_EQ(resolve(fs, "/" + std::string(300, 'a')).error().code, ENAMETOOLONG);
}

TEST_F(VfsTest, MountsAndWalk) {
  MemFs boot;
  boot.add(1, "vmlinuz", S_IFREG | 0644, "k");
  fs.add(1, "boot", S_IFDIR | 0755);
  Mounts m;
  ASSERT_TRUE(m.mount("/", fs));
  ASSERT_TRUE(m.mount("/boot", boot));
  EXPECT_FALSE(m.mount("/boot/", boot));
  auto r = m.resolve("/boot/vmlinuz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->fs, &boot);
  EXPECT_EQ(r->path, "/boot/vmlinuz");
  EXPECT_EQ(m.resolve("/boot/../etc/passwd")->inode->ino(), passwd);
  std::vector<std::string> seen;
  ASSERT_TRUE(walk(m, "/", [&](const WalkEntry& e) -> Result<bool> {
    seen.push_back(e.path);
    return true;
  }));
  std::vector<std::string> want = {"/bin", "/boot", "/boot/vmlinuz", "/etc", "/etc/abs",
                                   "/etc/dangling", "/etc/escape", "/etc/loop1", "/etc/loop2",
                                   "/etc/passwd", "/usr", "/usr/bin", "/usr/bin/sh"};
  EXPECT_EQ(seen, want);
}

TEST_F(VfsTest, WalkRefusesCycles) {
  fs.nodes[bin].children["up"] = usr;  // a hard-linked directory: a cycle
  Mounts m;
  ASSERT_TRUE(m.mount("/", fs));
  auto r = walk(m, "/usr", [](const WalkEntry&) -> Result<bool> { return true; });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ELOOP);
}

TEST(Vfs, ModeString) {
  EXPECT_EQ(mode_string(S_IFDIR | 0755), "drwxr-xr-x");
  EXPECT_EQ(mode_string(S_IFREG | 04755), "-rwsr-xr-x");
  EXPECT_EQ(mode_string(S_IFDIR | 01777), "drwxrwxrwt");
}

}  // namespace
}  // namespace dk::fs
