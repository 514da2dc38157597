// RemoteFs over a fake agent that serves the file ops from a scratch
// directory, so the Inode mapping (paths, readdir's stats, chunked reads,
// write streams, errors) is checked without a VM.
#include "appliance/host/remote_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

namespace dk::appliance {
namespace {

using nlohmann::json;

json stat_json(const struct stat& st) {
  return {{"ino", st.st_ino}, {"mode", st.st_mode}, {"uid", st.st_uid}, {"gid", st.st_gid},
          {"nlink", st.st_nlink}, {"size", st.st_size}, {"blocks", st.st_blocks},
          {"mtime", json::array({st.st_mtim.tv_sec, st.st_mtim.tv_nsec})}};
}

class FakeAgent : public AgentCalls {
 public:
  explicit FakeAgent(std::string root) : m_root(std::move(root)) {}
  int calls = 0;
  int downloads = 0;

  Result<json> call(const std::string& op, const json& a) override {
    ++calls;
    if (op == "mount") return json{{"mount", 7}, {"type", "xfs"}};
    if (op == "umount" || op == "sync") return json(nullptr);
    if (op == "statvfs") return json{{"bsize", 4096}, {"frsize", 4096}, {"blocks", 100}, {"bfree", 50}};
    std::string p = m_root + a.value("path", std::string("/"));
    struct stat st {};
    if (op == "stat" || op == "lstat") {
      if ((op == "stat" ? ::stat(p.c_str(), &st) : ::lstat(p.c_str(), &st)) != 0) return errno_error("'" + p + "'");
      return stat_json(st);
    }
    if (op == "readdir") {
      DIR* d = opendir(p.c_str());
      if (!d) return errno_error(p);
      json out = json::array();
      while (dirent* e = readdir(d)) {
        if (!std::strcmp(e->d_name, ".") || !std::strcmp(e->d_name, "..")) continue;
        ::lstat((p + "/" + e->d_name).c_str(), &st);
        out.push_back({{"name", e->d_name}, {"stat", stat_json(st)}});
      }
      closedir(d);
      return out;
    }
    if (op == "create") {
      int fd = ::open(p.c_str(), O_CREAT | O_EXCL | O_WRONLY, a["mode"].get<int>());
      if (fd < 0) return errno_error(p);
      ::close(fd);
      ::lstat(p.c_str(), &st);
      return stat_json(st);
    }
    if (op == "mkdir") {
      if (::mkdir(p.c_str(), a["mode"].get<int>()) != 0) return errno_error(p);
      ::lstat(p.c_str(), &st);
      return stat_json(st);
    }
    if (op == "symlink") {
      if (::symlink(a["target"].get<std::string>().c_str(), p.c_str()) != 0) return errno_error(p);
      ::lstat(p.c_str(), &st);
      return stat_json(st);
    }
    if (op == "readlink") {
      char buf[256];
      ssize_t n = ::readlink(p.c_str(), buf, sizeof buf);
      if (n < 0) return errno_error(p);
      return json(std::string(buf, static_cast<size_t>(n)));
    }
    if (op == "unlink" && ::unlink(p.c_str()) != 0) return errno_error(p);
    if (op == "rmdir" && ::rmdir(p.c_str()) != 0) return errno_error(p);
    if (op == "rename" && ::rename(p.c_str(), (m_root + a["newpath"].get<std::string>()).c_str()) != 0)
      return errno_error(p);
    if (op == "truncate" && ::truncate(p.c_str(), a["size"].get<off_t>()) != 0) return errno_error(p);
    return json(nullptr);
  }

  Result<json> call_upload(const std::string& op, const json& a, std::span<const std::byte> data) override {
    ++calls;
    std::string p = m_root + a["path"].get<std::string>();
    int fd = ::open(p.c_str(), O_WRONLY);
    if (fd < 0) return errno_error(p);
    ssize_t n = ::pwrite(fd, data.data(), data.size(), a["offset"].get<off_t>());
    ::close(fd);
    return json{{"size", n}};
  }

  Result<json> call_download(const std::string& op, const json& a, std::string& out) override {
    ++calls;
    std::string p = m_root + a["path"].get<std::string>();
    int fd = ::open(p.c_str(), O_RDONLY);
    if (fd < 0) return errno_error(p);
    size_t want = a["size"].get<size_t>();
    ++downloads;
    std::string buf(want, '\0');
    ssize_t n = ::pread(fd, buf.data(), want, a["offset"].get<off_t>());
    ::close(fd);
    out.append(buf.data(), static_cast<size_t>(n));
    return json{{"size", n}};
  }

 private:
  std::string m_root;
};

class RemoteFsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dk-remotefs.XXXXXX";
    m_dir = ::mkdtemp(tmpl);
    m_agent = std::make_unique<FakeAgent>(m_dir);
    auto fs = mount_remote(*m_agent, {"/dev/vg/lv", "", "", "", true});
    ASSERT_TRUE(fs) << fs.error().message;
    m_fs = std::move(*fs);
  }
  void TearDown() override {
    m_fs.reset();
    std::string cmd = "rm -rf '" + m_dir + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  std::string m_dir;
  std::unique_ptr<FakeAgent> m_agent;
  std::unique_ptr<RemoteFs> m_fs;
};

TEST_F(RemoteFsTest, WritesReadsAndLists) {
  EXPECT_EQ(m_fs->type_name(), "xfs");
  auto root = m_fs->root();
  ASSERT_TRUE(root);
  auto dir = (*root)->mkdir("d", {0750, 0, 0});
  ASSERT_TRUE(dir) << dir.error().message;
  auto f = (*dir)->create("f", {0644, 0, 0});
  ASSERT_TRUE(f);
  std::string big(9u << 20, 'x');  // more than one 8 MiB read request
  big[(9u << 20) - 1] = 'y';
  auto w = (*f)->write(0, std::as_bytes(std::span(big)));
  ASSERT_TRUE(w);
  EXPECT_EQ(*w, big.size());
  ASSERT_TRUE((*dir)->symlink("l", "f", {0777, 0, 0}));

  auto found = fs::resolve(*m_fs, "/d/l");  // follows the link to f
  ASSERT_TRUE(found) << found.error().message;
  auto st = (*found)->stat();
  ASSERT_TRUE(st);
  EXPECT_EQ(st->size, big.size());
  std::string back(big.size() + 10, '\0');
  auto r = (*found)->read(0, std::as_writable_bytes(std::span(back)));
  ASSERT_TRUE(r);
  ASSERT_EQ(*r, big.size());  // an 8 MiB answer, then the short one
  EXPECT_EQ(m_agent->downloads, 2);
  EXPECT_EQ(back.substr(0, *r), big);

  // readdir brings the stats: child() needs no further request.
  auto entries = (*dir)->readdir();
  ASSERT_TRUE(entries);
  ASSERT_EQ(entries->size(), 2u);
  int before = m_agent->calls;
  for (auto& e : *entries) ASSERT_TRUE((*dir)->child(e));
  EXPECT_EQ(m_agent->calls, before);

  auto link = fs::resolve(*m_fs, "/d/l", false);
  ASSERT_TRUE(link);
  EXPECT_EQ(*(*link)->readlink(), "f");
  ASSERT_TRUE((*dir)->rename("f", **root, "g"));
  EXPECT_FALSE(fs::resolve(*m_fs, "/d/f"));
  EXPECT_EQ(fs::resolve(*m_fs, "/d/f").error().code, ENOENT);
  ASSERT_TRUE(fs::resolve(*m_fs, "/g"));
  EXPECT_EQ((*root)->rmdir("d").error().code, ENOTEMPTY);
  auto v = m_fs->statvfs();
  ASSERT_TRUE(v);
  EXPECT_EQ(v->blocks, 100u);
}

TEST_F(RemoteFsTest, RefusesBadNamesAndReadOnlyWrites) {
  auto root = m_fs->root();
  ASSERT_TRUE(root);
  EXPECT_EQ((*root)->lookup("..").error().code, EINVAL);
  EXPECT_EQ((*root)->create("a/b", {}).error().code, EINVAL);
  FakeAgent ro_agent(m_dir);
  auto ro = mount_remote(ro_agent, {"/dev/sda1", "btrfs", "", "", false});
  ASSERT_TRUE(ro);
  auto rroot = (*ro)->root();
  ASSERT_TRUE(rroot);
  EXPECT_EQ((*rroot)->create("x", {}).error().code, EROFS);
  EXPECT_EQ((*ro)->type_name(), "btrfs");
}

}  // namespace
}  // namespace dk::appliance
