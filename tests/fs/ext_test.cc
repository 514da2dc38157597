// ext4 through libext2fs on a diskit layer: reads match what mkfs.ext4 -d
// stored; writes leave a file system e2fsck -fn finds clean; a read-only
// open never changes a byte.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "formats/chain.h"
#include "fs/ext/ext.h"
#include "fs/probe.h"
#include "fs/vfs.h"
#include "tests/fs/test_disk.h"

namespace dk::fs {
namespace {

using testing::have;
using testing::slurp;

class ExtTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have("mkfs.ext4") || !have("e2fsck")) GTEST_SKIP() << "e2fsprogs not installed";
    char tmpl[] = "/tmp/dk-ext-test.XXXXXX";
    ASSERT_TRUE(mkdtemp(tmpl));
    dir = tmpl;
    std::string cmd = "cd " + dir + " && mkdir -p src/etc src/d && echo hello > src/etc/hostname && "
                      "ln -s ../etc/hostname src/d/link && head -c 70000 /dev/urandom > src/big && "
                      "mkfs.ext4 -q -F -L lab -d src img 8M";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    img = dir + "/img";
  }
  void TearDown() override {
    if (!dir.empty()) (void)std::system(("rm -rf " + dir).c_str());
  }
  std::unique_ptr<FileSystem> open(bool writable) {
    auto l = testing::open_raw(img, writable);
    EXPECT_TRUE(l);
    if (!l) return nullptr;
    ExtOpenOptions eo;
    eo.writable = writable;
    eo.device_name = "/dev/sda1";
    auto fs = open_ext(std::move(l), eo);
    EXPECT_TRUE(fs) << (fs ? "" : fs.error().message);
    return fs ? std::move(*fs) : nullptr;
  }
  std::string dir, img;
};

TEST_F(ExtTest, ReadsWhatMkfsStored) {
  std::string before = slurp(img);
  {
    auto fs = open(false);
    ASSERT_TRUE(fs);
    EXPECT_EQ(fs->type_name(), "ext4");
    EXPECT_EQ(fs->label(), "lab");
    auto f = resolve(*fs, "/d/link");
    ASSERT_TRUE(f);
    auto text = read_file(**f);
    ASSERT_TRUE(text);
    EXPECT_EQ(*text, "hello\n");
    auto big = resolve(*fs, "/big");
    ASSERT_TRUE(big);
    EXPECT_EQ(*read_file(**big), slurp(dir + "/src/big"));
    auto root = *fs->root();
    auto ents = root->readdir();
    ASSERT_TRUE(ents);
    std::vector<std::string> names;
    for (auto& e : *ents) names.push_back(e.name);
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"big", "d", "etc", "lost+found"}));
    auto st = (*resolve(*fs, "/d/link", false))->stat();
    ASSERT_TRUE(st);
    EXPECT_EQ(st->type(), FileType::Symlink);
    EXPECT_EQ(*(*resolve(*fs, "/d/link", false))->readlink(), "../etc/hostname");
    auto w = (*big)->write(0, std::as_bytes(std::span("x", 1)));
    ASSERT_FALSE(w);
    EXPECT_EQ(w.error().code, EROFS);
    auto v = fs->statvfs();
    ASSERT_TRUE(v);
    EXPECT_GT(v->blocks, v->bfree);
  }
  EXPECT_EQ(slurp(img), before) << "a read-only open changed the image";
}

TEST_F(ExtTest, WritesAreCleanForE2fsck) {
  {
    auto fs = open(true);
    ASSERT_TRUE(fs);
    auto root = *fs->root();
    auto f = root->create("new.txt", {0640, 1000, 1000});
    ASSERT_TRUE(f) << f.error().message;
    std::string data(100000, 'q');
    ASSERT_TRUE((*f)->write(0, std::as_bytes(std::span(data.data(), data.size()))));
    ASSERT_TRUE((*f)->write(200000, std::as_bytes(std::span("tail", 4))));
    auto d = root->mkdir("newdir", {0700, 5, 6});
    ASSERT_TRUE(d) << d.error().message;
    ASSERT_TRUE((*d)->symlink("ln", "/newdir/moved.txt", {}));
    ASSERT_TRUE(root->rename("new.txt", **d, "moved.txt"));
    auto etc = *resolve(*fs, "/etc");
    ASSERT_TRUE(root->rename("d", *etc, "d2"));  // a directory to another parent
    ASSERT_TRUE(root->unlink("big"));
    EXPECT_EQ(root->rmdir("etc").error().code, ENOTEMPTY);
    ASSERT_TRUE((*resolve(*fs, "/etc/d2"))->unlink("link"));
    ASSERT_TRUE(etc->rmdir("d2"));
    auto h = *resolve(*fs, "/etc/hostname");
    ASSERT_TRUE(h->chmod(0600));
    ASSERT_TRUE(h->chown(42, 43));
    ASSERT_TRUE(h->truncate(2));
    ASSERT_TRUE(h->utimens(Timespec{1000000000, 5}, Timespec{1200000000, 7}));
    for (int i = 0; i < 200; ++i) ASSERT_TRUE(root->create("f" + std::to_string(i), {}));
    EXPECT_EQ(root->create("f1", {}).error().code, EEXIST);
    ASSERT_TRUE(fs->flush());
  }
  std::string cmd = "e2fsck -fn " + img + " >" + dir + "/fsck.log 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << slurp(dir + "/fsck.log");
  auto fs = open(false);
  ASSERT_TRUE(fs);
  auto moved = resolve(*fs, "/newdir/ln");
  ASSERT_TRUE(moved) << moved.error().message;
  auto st = (*moved)->stat();
  EXPECT_EQ(st->size, 200004u);
  EXPECT_EQ(st->uid, 1000u);
  EXPECT_EQ(st->mode & 07777, 0640u);
  auto text = *read_file(**moved);
  EXPECT_EQ(text.substr(0, 3), "qqq");
  EXPECT_EQ(text.substr(200000), "tail");
  EXPECT_EQ(text[150000], '\0');
  auto h = *(*resolve(*fs, "/etc/hostname"))->stat();
  EXPECT_EQ(h.size, 2u);
  EXPECT_EQ(h.uid, 42u);
  EXPECT_EQ(h.gid, 43u);
  EXPECT_EQ(h.mtime.sec, 1200000000);
  EXPECT_EQ(h.mtime.nsec, 7u);
  EXPECT_EQ(resolve(*fs, "/big").error().code, ENOENT);
  EXPECT_EQ(resolve(*fs, "/etc/d2").error().code, ENOENT);
}

TEST_F(ExtTest, SparseFileWithExtentTreeReadsBack) {
  std::string want(600 * 8192, '\0');
  {
    auto fs = open(true);
    ASSERT_TRUE(fs);
    auto f = (*fs->root())->create("sparse", {});
    ASSERT_TRUE(f);
    for (int i = 0; i < 600; ++i) {
      char c = static_cast<char>('a' + i % 26);
      want[uint64_t(i) * 8192 + 100] = c;
      ASSERT_TRUE((*f)->write(uint64_t(i) * 8192 + 100, std::as_bytes(std::span(&c, 1))));
    }
    want.resize(599 * 8192 + 101);
    ASSERT_TRUE(fs->flush());
  }
  std::string cmd = "e2fsck -fn " + img + " >" + dir + "/fsck.log 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << slurp(dir + "/fsck.log");
  auto fs = open(false);
  auto f = resolve(*fs, "/sparse");
  ASSERT_TRUE(f);
  EXPECT_EQ(*read_file(**f), want);
  std::string part(5000, 'x');
  auto got = (*f)->read(8192 * 300 + 50, std::as_writable_bytes(std::span(part.data(), part.size())));
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, 5000u);
  EXPECT_EQ(part, want.substr(8192 * 300 + 50, 5000));
}

TEST_F(ExtTest, JournalNeedingRecovery) {
  std::string cmd = "debugfs -w -R 'feature needs_recovery' " + img + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::string before = slurp(img);
  fmt::OpenOptions oo;
  oo.writable = true;
  auto l = fmt::open_image(img, "raw", oo);
  ASSERT_TRUE(l);
  ExtOpenOptions eo;
  eo.writable = true;
  auto w = open_ext(std::move(*l), eo);
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, EROFS);
  EXPECT_NE(w.error().message.find("journal needs recovery"), std::string::npos);
  oo.writable = false;
  oo.force_share = true;
  l = fmt::open_image(img, "raw", oo);
  ASSERT_TRUE(l);
  std::string warning;
  eo.writable = false;
  eo.warn = [&](const std::string& m) { warning = m; };
  auto r = open_ext(std::move(*l), eo);
  ASSERT_TRUE(r);
  EXPECT_NE(warning.find("replayed 0 journal blocks in memory"), std::string::npos) << warning;
  EXPECT_EQ(*read_file(**resolve(**r, "/etc/hostname")), "hello\n");
  r->reset();
  EXPECT_EQ(slurp(img), before);
}

// debugfs' journal_write logs a block without applying it: the file system
// needs recovery and only a replay shows the new contents.
TEST_F(ExtTest, JournalReplayedInMemory) {
  if (!have("debugfs")) GTEST_SKIP() << "debugfs (e2fsprogs) is not installed";
  std::string cmd = "cd " + dir + " && blk=$(debugfs -R 'blocks /etc/hostname' img 2>/dev/null | tr -dc 0-9) && "
                    "printf 'replayed!\\n' > blk && truncate -s 1024 blk && "
                    "printf 'jo\\njw -b '$blk' blk\\njc\\n' | debugfs -w -f - img >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::string before = slurp(img);
  fmt::OpenOptions oo;
  oo.force_share = true;
  auto l = fmt::open_image(img, "raw", oo);
  ASSERT_TRUE(l);
  std::string warning;
  ExtOpenOptions eo;
  eo.warn = [&](const std::string& m) { warning = m; };
  auto fs = open_ext(std::move(*l), eo);
  ASSERT_TRUE(fs) << fs.error().message;
  EXPECT_NE(warning.find("replayed 1 journal blocks"), std::string::npos) << warning;
  EXPECT_EQ(*read_file(**resolve(**fs, "/etc/hostname")), "replay");  // size stays 6
  fs->reset();
  EXPECT_EQ(slurp(img), before);
}

TEST_F(ExtTest, ProbeNamesExt) {
  fmt::OpenOptions oo;
  oo.force_share = true;
  auto l = fmt::open_image(img, "raw", oo);
  ASSERT_TRUE(l);
  auto p = probe_filesystem(**l);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->type, "ext4");
  EXPECT_EQ(p->label, "lab");
  EXPECT_EQ(p->size, 8u << 20);
}

}  // namespace
}  // namespace dk::fs
