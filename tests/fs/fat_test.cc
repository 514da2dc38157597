// FAT12/16/32 through our own driver: reads match what mkfs.vfat + mtools
// stored; writes leave a file system fsck.vfat -n finds clean and mtools
// reads back; damaged images give clean errors; name rules match vfat.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "formats/chain.h"
#include "formats/core/endian.h"
#include "fs/fat/dirent.h"
#include "fs/fat/fat.h"
#include "fs/vfs.h"
#include "tests/fs/test_disk.h"
#include "fs/walk.h"

namespace dk::fs {
namespace {

using testing::have;
using testing::slurp;

std::span<const std::byte> bytes_of(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

struct FatParam {
  int bits;
  int kib;  // image size
};

class FatTest : public ::testing::TestWithParam<FatParam> {
 protected:
  void SetUp() override {
    if (!have("mkfs.vfat") || !have("mcopy") || !have("fsck.vfat")) GTEST_SKIP() << "dosfstools/mtools missing";
    char tmpl[] = "/tmp/dk-fat-test.XXXXXX";
    ASSERT_TRUE(mkdtemp(tmpl));
    dir = tmpl;
    img = dir + "/img";
    std::string cmd = "cd " + dir + " && export TZ=UTC MTOOLS_SKIP_CHECK=1 && mkdir -p src/Docs/Sub src/lower && "
                      "echo hello > src/HELLO.TXT && echo lo > src/lower/file.c && "
                      "echo long > 'src/Docs/A Long Name.markdown' && head -c 70000 /dev/urandom > src/Docs/big && "
                      ": > src/empty && echo ro > src/RO.TXT && touch -d '2021-03-04 05:06:08' src/HELLO.TXT && "
                      "mkfs.vfat -C -F " + std::to_string(GetParam().bits) + " -n MYLABEL -i 1a2b3c4d img " +
                      std::to_string(GetParam().kib) + " >/dev/null && "
                      "cd src && mcopy -s -m -i ../img ./* :: && mattrib -i ../img +r ::RO.TXT";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  void TearDown() override {
    if (!dir.empty() && !std::getenv("DK_KEEP")) (void)std::system(("rm -rf " + dir).c_str());
  }
  std::unique_ptr<FileSystem> open(bool writable) {
    auto l = testing::open_raw(img, writable);
    EXPECT_TRUE(l);
    if (!l) return nullptr;
    FatOpenOptions fo;
    fo.writable = writable;
    fo.device_name = "/dev/sda1";
    auto fs = open_fat(std::move(l), fo);
    EXPECT_TRUE(fs) << (fs ? "" : fs.error().message);
    return fs ? std::move(*fs) : nullptr;
  }
  std::string run(const std::string& cmd) {
    std::string out = dir + "/cmd.out";
    int rc = std::system(("cd " + dir + " && MTOOLS_SKIP_CHECK=1 " + cmd + " >" + out + " 2>&1").c_str());
    return std::to_string(rc) + ":" + slurp(out);
  }
  std::string dir, img;
};

std::vector<std::string> names_of(Inode& d) {
  std::vector<std::string> out;
  auto ents = d.readdir();
  EXPECT_TRUE(ents);
  if (ents)
    for (auto& e : *ents) out.push_back(e.name);
  std::sort(out.begin(), out.end());
  return out;
}

TEST_P(FatTest, ReadsWhatMtoolsStored) {
  std::string before = slurp(img);
  {
    auto fs = open(false);
    ASSERT_TRUE(fs);
    EXPECT_EQ(fs->type_name(), "vfat");
    EXPECT_EQ(fs->label(), "MYLABEL");
    EXPECT_EQ(fs->uuid(), "1A2B-3C4D");
    auto root = *fs->root();
    EXPECT_EQ(names_of(*root), (std::vector<std::string>{"Docs", "HELLO.TXT", "RO.TXT", "empty", "lower"}));
    EXPECT_EQ(names_of(**resolve(*fs, "/Docs")), (std::vector<std::string>{"A Long Name.markdown", "Sub", "big"}));
    EXPECT_EQ(*read_file(**resolve(*fs, "/Docs/big")), slurp(dir + "/src/Docs/big"));
    EXPECT_EQ(*read_file(**resolve(*fs, "/hello.txt")), "hello\n");  // case-insensitive lookup
    EXPECT_EQ(*read_file(**resolve(*fs, "/Docs/ALONGN~1.MAR")), "long\n");  // the short alias
    EXPECT_EQ(*read_file(**resolve(*fs, "/empty")), "");
    auto st = *(*resolve(*fs, "/HELLO.TXT"))->stat();
    EXPECT_EQ(st.mode, S_IFREG | 0755u);
    EXPECT_EQ(st.mtime.sec, 1614834368);  // 2021-03-04 05:06:08 UTC
    EXPECT_EQ(st.uid, 0u);
    EXPECT_EQ((*(*resolve(*fs, "/RO.TXT"))->stat()).mode, S_IFREG | 0555u);
    auto ds = *(*resolve(*fs, "/Docs"))->stat();
    EXPECT_EQ(ds.mode, S_IFDIR | 0755u);
    EXPECT_EQ(ds.nlink, 3u);
    EXPECT_EQ((*root->stat()).ino, 1u);
    EXPECT_EQ(resolve(*fs, "/nothere").error().code, ENOENT);
    EXPECT_EQ((*resolve(*fs, "/Docs"))->read(0, {}).error().code, EISDIR);
    auto w = (*resolve(*fs, "/HELLO.TXT"))->write(0, bytes_of("x"));
    ASSERT_FALSE(w);
    EXPECT_EQ(w.error().code, EROFS);
    // statvfs's free clusters match fsck.vfat's count.
    auto v = *fs->statvfs();
    std::string out = run("fsck.vfat -n img");
    size_t slash = out.rfind('/');
    size_t comma = out.rfind(", ", slash);
    ASSERT_NE(slash, std::string::npos) << out;
    uint64_t used = std::stoull(out.substr(comma + 2)), total = std::stoull(out.substr(slash + 1));
    EXPECT_EQ(v.blocks, total);
    EXPECT_EQ(v.bfree, total - used);
  }
  EXPECT_EQ(slurp(img), before) << "a read-only open changed the image";
}

TEST_P(FatTest, WritesAreCleanForFsckAndMtools) {
  std::string big(150000, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 23);
  {
    auto fs = open(true);
    ASSERT_TRUE(fs);
    auto root = *fs->root();
    auto f = root->create("New File With A Long Name.txt", {});
    ASSERT_TRUE(f) << f.error().message;
    ASSERT_TRUE((*f)->write(0, bytes_of(big)));
    ASSERT_TRUE((*f)->write(200000, bytes_of("tail")));  // a gap reads as zeros
    auto d = root->mkdir("NewDir", {});
    ASSERT_TRUE(d) << d.error().message;
    ASSERT_TRUE((*d)->create("lower.txt", {}));        // 8.3 in one case: NT flags, no long name
    ASSERT_TRUE((*d)->create("MiXed.Txt", {}));
    for (int i = 0; i < 40; ++i) ASSERT_TRUE((*d)->create("many files number " + std::to_string(i), {}));
    EXPECT_EQ((*d)->create("LOWER.TXT", {}).error().code, EEXIST);
    EXPECT_EQ((*d)->symlink("ln", "x", {}).error().code, EPERM);
    EXPECT_EQ((*d)->create("bad:name", {}).error().code, EINVAL);
    ASSERT_TRUE(root->rename("New File With A Long Name.txt", **d, "moved.bin"));
    auto docs = *resolve(*fs, "/Docs");
    ASSERT_TRUE(docs->rename("Sub", **d, "SubMoved"));  // a directory to another parent
    ASSERT_TRUE((*resolve(*fs, "/NewDir/SubMoved"))->create("inside", {}));
    ASSERT_TRUE(docs->unlink("big"));
    EXPECT_EQ(root->rmdir("Docs").error().code, ENOTEMPTY);
    EXPECT_EQ(root->unlink("Docs").error().code, EISDIR);
    EXPECT_EQ(root->rmdir("HELLO.TXT").error().code, ENOTDIR);
    ASSERT_TRUE(root->rename("HELLO.TXT", *root, "empty"));  // replaces
    auto h = *resolve(*fs, "/empty");
    ASSERT_TRUE(h->truncate(3));
    ASSERT_TRUE(h->chmod(0555));
    EXPECT_EQ(h->chown(1000, std::nullopt).error().code, EPERM);
    ASSERT_TRUE(h->chown(0, 0));
    ASSERT_TRUE(h->utimens(Timespec{1600000000, 0}, Timespec{1500000000, 0}));
    ASSERT_TRUE(root->rename("lower", *root, "Lower"));  // a case change
    ASSERT_TRUE(docs->rename("A Long Name.markdown", *docs, "ALONGN~1.MAR"));  // to its own alias
    ASSERT_TRUE((*resolve(*fs, "/RO.TXT"))->truncate(0));
    auto grow = (*resolve(*fs, "/Docs"))->create("grown", {});
    ASSERT_TRUE(grow);
    ASSERT_TRUE((*grow)->truncate(5000));
    auto regrow = *root->create("regrow", {});
    ASSERT_TRUE(regrow->write(0, bytes_of("abcdef")));
    ASSERT_TRUE(regrow->truncate(2));
    ASSERT_TRUE(regrow->truncate(6));  // the old bytes past the end must not come back
    ASSERT_TRUE(fs->flush());
  }
  std::string fsck = run("fsck.vfat -n img");
  EXPECT_EQ(fsck.substr(0, 2), "0:") << fsck;
  EXPECT_EQ(run("mtype -i img ::/NewDir/moved.bin"), "0:" + big + std::string(200000 - big.size(), '\0') + "tail");
  EXPECT_EQ(run("mtype -i img ::/NewDir/SubMoved/inside"), "0:");
  EXPECT_EQ(run("mtype -i img ::/empty"), "0:hel");
  EXPECT_EQ(run("mtype -i img ::/regrow"), std::string("0:ab\0\0\0\0", 8));
  std::string listing = run("mdir -i img -b ::/NewDir");
  EXPECT_NE(listing.find("::/NewDir/lower.txt"), std::string::npos) << listing;
  EXPECT_NE(listing.find("::/NewDir/MiXed.Txt"), std::string::npos) << listing;
  EXPECT_NE(listing.find("::/NewDir/many files number 39"), std::string::npos) << listing;
  std::string short_names = run("mdir -i img ::/NewDir");
  EXPECT_NE(short_names.find("MANYFI~1"), std::string::npos) << short_names;
  EXPECT_NE(run("mdir -i img -b ::/").find("::/Lower"), std::string::npos);
  EXPECT_NE(run("mattrib -i img ::/empty").find("R"), std::string::npos);
  // The '..' of the moved directory names its new parent (fsck checks it too).
  auto fs = open(false);
  ASSERT_TRUE(fs);
  auto up = resolve(*fs, "/NewDir/SubMoved/../moved.bin");
  ASSERT_TRUE(up) << up.error().message;
  auto st = *(*resolve(*fs, "/empty"))->stat();
  EXPECT_EQ(st.mode, S_IFREG | 0555u);
  EXPECT_EQ(st.mtime.sec, 1500000000);
  EXPECT_EQ(st.atime.sec, 1600000000 - 1600000000 % 86400);
  EXPECT_EQ(resolve(*fs, "/Docs/big").error().code, ENOENT);
  EXPECT_EQ(names_of(**resolve(*fs, "/Docs")), (std::vector<std::string>{"ALONGN~1.MAR", "grown"}));
  EXPECT_EQ(resolve(*fs, "/HELLO.TXT").error().code, ENOENT);
}

TEST_P(FatTest, FillsTheDiskAndFreesItAgain) {
  uint64_t free_before;
  {
    auto fs = open(true);
    ASSERT_TRUE(fs);
    free_before = fs->statvfs()->bfree;
    auto root = *fs->root();
    auto f = *root->create("fill", {});
    std::string chunk(64 * 1024, 'z');
    uint64_t off = 0;
    Result<size_t> r = size_t{0};
    while ((r = f->write(off, bytes_of(chunk)))) off += chunk.size();
    EXPECT_EQ(r.error().code, ENOSPC);
    ASSERT_TRUE(root->unlink("fill"));
    // Freed clusters come back after the commit the allocator makes.
    auto g = *root->create("again", {});
    ASSERT_TRUE(g->write(0, bytes_of(chunk)));
    ASSERT_TRUE(root->unlink("again"));
    ASSERT_TRUE(fs->flush());
    EXPECT_EQ(fs->statvfs()->bfree, free_before);
  }
  std::string fsck = run("fsck.vfat -n img");
  EXPECT_EQ(fsck.substr(0, 2), "0:") << fsck;
}

// A device that stops writing after `budget` writes, like a machine that
// lost power: later writes (and flushes) fail and never land.
class CrashingLayer : public fmt::Layer {
 public:
  CrashingLayer(std::unique_ptr<fmt::Layer> inner, int budget)
      : Layer(inner->filename(), true), m_inner(std::move(inner)), m_budget(budget) {}
  int writes = 0;
  std::string_view format_name() const override { return "raw"; }
  uint64_t size() const override { return m_inner->size(); }
  Result<uint64_t> actual_size() const override { return m_inner->actual_size(); }

 protected:
  Result<void> do_read(uint64_t off, std::span<std::byte> out) override { return m_inner->read(off, out); }
  Result<fmt::Extent> do_block_status(uint64_t off, uint64_t len) override { return m_inner->block_status(off, len); }
  Result<void> do_write(uint64_t off, std::span<const std::byte> in) override {
    DK_TRY(spend());
    return m_inner->write(off, in);
  }
  Result<void> do_write_zeroes(uint64_t off, uint64_t len, bool) override {
    DK_TRY(spend());
    return m_inner->write_zeroes(off, len);
  }
  Result<void> do_flush() override {
    DK_TRY(spend());
    return m_inner->flush();
  }

 private:
  Result<void> spend() {
    if (m_budget >= 0 && writes >= m_budget) return make_error(EIO, "power lost");
    ++writes;
    return {};
  }
  std::unique_ptr<fmt::Layer> m_inner;
  int m_budget;
};

// Changes cut off after every possible number of device writes leave a
// file system fsck.vfat repairs, with the data flushed before intact.
TEST_P(FatTest, CrashAtAnyWriteKeepsFlushedData) {
  if (GetParam().bits == 16) GTEST_SKIP() << "FAT12 and FAT32 cover it";
  std::string keep(9000, 'k');
  {
    auto fs = open(true);
    ASSERT_TRUE(fs);
    auto f = *(*fs->root())->create("keep.bin", {});
    ASSERT_TRUE(f->write(0, bytes_of(keep)));
    ASSERT_TRUE(fs->flush());
  }
  ASSERT_EQ(std::system(("cp " + img + " " + dir + "/base").c_str()), 0);
  auto session = [&](int budget) -> int {
    fmt::OpenOptions oo;
    oo.writable = true;
    auto l = fmt::open_image(img, "raw", oo);
    EXPECT_TRUE(l);
    auto crash = std::make_unique<CrashingLayer>(std::move(*l), budget);
    auto* c = crash.get();
    FatOpenOptions fo;
    fo.writable = true;
    auto fs = open_fat(std::move(crash), fo);
    EXPECT_TRUE(fs);
    auto root = *(*fs)->root();
    auto d = root->mkdir("A new directory", {});
    if (d) (void)root->rename("keep.bin", **d, "kept with a long name.bin");
    auto n = root->create("new file.txt", {});
    if (n) (void)(*n)->write(0, bytes_of(std::string(5000, 'n')));
    (void)root->unlink("HELLO.TXT");
    (void)(*fs)->flush();
    int writes = c->writes;
    fs->reset();
    return writes;
  };
  int total = session(-1);
  ASSERT_GT(total, 3);
  RecordProperty("device_writes", total);
  for (int budget = 0; budget <= total; ++budget) {
    ASSERT_EQ(std::system(("cp " + dir + "/base " + img).c_str()), 0);
    session(budget);
    (void)run("fsck.vfat -a img");
    std::string fsck = run("fsck.vfat -n img");
    ASSERT_EQ(fsck.substr(0, 2), "0:") << "after " << budget << " writes: " << fsck;
    std::string a = run("mtype -i img ::/keep.bin"), b = run("mtype -i img '::/A new directory/kept with a long name.bin'");
    EXPECT_TRUE(a == "0:" + keep || b == "0:" + keep) << "after " << budget << " writes: " << a.substr(0, 80) << " / " << b.substr(0, 80);
  }
}

INSTANTIATE_TEST_SUITE_P(Types, FatTest, ::testing::Values(FatParam{12, 4096}, FatParam{16, 20480}, FatParam{32, 40960}),
                         [](const auto& info) { return "FAT" + std::to_string(info.param.bits); });

// ---- Damaged images ----

class FatDamageTest : public FatTest {
 protected:
  // Patches the FAT entry of `cluster` (FAT16) in every copy.
  void set_fat16(uint32_t cluster, uint16_t v) {
    std::fstream f(img, std::ios::in | std::ios::out | std::ios::binary);
    uint8_t bpb[64];
    f.read(reinterpret_cast<char*>(bpb), sizeof bpb);
    uint64_t bps = load_le16(bpb + 11), res = load_le16(bpb + 14), fats = bpb[16], fatsz = load_le16(bpb + 22);
    for (uint64_t i = 0; i < fats; ++i) {
      f.seekp(static_cast<std::streamoff>((res + i * fatsz) * bps + cluster * 2));
      f.write(reinterpret_cast<const char*>(&v), 2);
    }
  }
  uint32_t first_cluster(const std::string& path) {
    auto fs = open(false);
    auto n = resolve(*fs, path);
    EXPECT_TRUE(n);
    auto st = (*n)->stat();
    // Files: read it through mtools' view instead of internals: the FAT16
    // images here are written in order, so use the driver's own entry.
    auto* fi = n->get();
    (void)fi;
    (void)st;
    return 0;
  }
};

std::string raw_entry_cluster_cmd(const std::string& name) {
  // mshowfat prints "<n>" clusters of a file: ::NAME <2-10>
  return "mshowfat -i img ::" + name;
}

TEST_P(FatDamageTest, LoopsAndOutOfRangeClustersGiveCleanErrors) {
  if (!have("mshowfat")) GTEST_SKIP() << "mshowfat (mtools) missing: it finds the clusters to damage";
  std::string out = run(raw_entry_cluster_cmd("/Docs/big"));
  size_t lt = out.find('<');
  ASSERT_NE(lt, std::string::npos) << out;
  uint32_t first = static_cast<uint32_t>(std::stoul(out.substr(lt + 1)));
  // A loop: the chain's third cluster points back to the first.
  set_fat16(first + 2, static_cast<uint16_t>(first));
  {
    auto fs = open(false);
    auto big = *resolve(*fs, "/Docs/big");
    auto r = read_file(*big);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, EIO);
    EXPECT_NE(r.error().message.find("loops"), std::string::npos) << r.error().message;
  }
  // A link past the last cluster.
  set_fat16(first + 2, 0xfff0);
  {
    auto fs = open(false);
    auto r = read_file(**resolve(*fs, "/Docs/big"));
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("out of range"), std::string::npos) << r.error().message;
  }
  // A free cluster inside the chain (the size is beyond the chain).
  set_fat16(first + 2, 0);
  {
    auto fs = open(false);
    auto r = read_file(**resolve(*fs, "/Docs/big"));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, EIO);
  }
}

TEST_P(FatDamageTest, DirectoryCycleEndsTheWalk) {
  if (!have("mshowfat")) GTEST_SKIP() << "mshowfat (mtools) missing: it finds the clusters to damage";
  // Point /Docs/Sub at /Docs's own cluster by rewriting Sub's entry.
  std::string out = run("mshowfat -i img ::/Docs");
  uint32_t docs = static_cast<uint32_t>(std::stoul(out.substr(out.find('<') + 1)));
  std::string raw = slurp(img);
  std::string docs_dir = raw.substr(0, 0);
  // Sub's short entry: "SUB        " with the directory attribute.
  size_t pos = raw.find(std::string("SUB        \x10", 12));
  ASSERT_NE(pos, std::string::npos);
  {
    std::fstream f(img, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(pos + 26));
    uint16_t v = static_cast<uint16_t>(docs);
    f.write(reinterpret_cast<const char*>(&v), 2);
  }
  auto fs = open(false);
  Mounts tree;
  ASSERT_TRUE(tree.mount("/", *fs));
  auto r = walk(tree, "/", [](const WalkEntry&) -> Result<bool> { return true; });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ELOOP) << r.error().message;
}

INSTANTIATE_TEST_SUITE_P(Types, FatDamageTest, ::testing::Values(FatParam{16, 20480}),
                         [](const auto& info) { return "FAT" + std::to_string(info.param.bits); });

// ---- Names and times ----

fat::ShortName sn(const char* s) {
  fat::ShortName n;
  std::memcpy(n.data(), s, 11);
  return n;
}

fat::ShortChoice choose(const std::string& name, std::vector<fat::ShortName> taken = {}) {
  auto u = fat::long_name_units(name);
  EXPECT_TRUE(u);
  auto r = fat::make_short_name(*u, [&](const fat::ShortName& n) {
    return std::find(taken.begin(), taken.end(), n) != taken.end();
  });
  EXPECT_TRUE(r) << name;
  return r ? *r : fat::ShortChoice{};
}

TEST(FatNames, ShortNamesLikeVfat) {
  auto c = choose("README.TXT");
  EXPECT_EQ(c.name, sn("README  TXT"));
  EXPECT_FALSE(c.needs_lfn);
  c = choose("readme.txt");
  EXPECT_EQ(c.name, sn("README  TXT"));
  EXPECT_EQ(c.ntres, fat::kCaseLowerBase | fat::kCaseLowerExt);
  EXPECT_FALSE(c.needs_lfn);
  c = choose("ReadMe.txt");
  EXPECT_TRUE(c.needs_lfn);
  EXPECT_EQ(c.name, sn("README~1TXT"));
  c = choose("A Long File Name.markdown");
  EXPECT_EQ(c.name, sn("ALONGF~1MAR"));
  c = choose("A Long File Name.markdown", {sn("ALONGF~1MAR")});
  EXPECT_EQ(c.name, sn("ALONGF~2MAR"));
  c = choose(".bashrc");
  EXPECT_EQ(c.name, sn("BASHRC~1   "));
  c = choose("a+b.c");
  EXPECT_EQ(c.name, sn("A_B~1   C  "));
  c = choose("été âge.txt");  // "été âge.txt": É in codepage 437, â has no upper case
  EXPECT_EQ(c.name, sn("\x90T\x90\x83GE~1TXT"));
  c = choose("archive.tar.gz");
  EXPECT_EQ(c.name, sn("ARCHIV~1GZ "));
  std::vector<fat::ShortName> all;
  for (int i = 1; i <= 9; ++i) {
    std::string s = "ALONGF~" + std::to_string(i) + "MAR";
    all.push_back(sn(s.c_str()));
  }
  c = choose("A Long File Name.markdown", all);
  EXPECT_EQ(c.name[6], '~');
  EXPECT_EQ(std::string(c.name.begin() + 8, c.name.end()), "MAR");
  EXPECT_EQ(fat::long_name_units("a*b").error().code, EINVAL);
  EXPECT_EQ(fat::long_name_units(std::string(256, 'a')).error().code, ENAMETOOLONG);
  EXPECT_EQ(fat::long_name_units("x...")->size(), 1u);
}

TEST(FatNames, LongNameSlotsParseBack) {
  auto u = *fat::long_name_units("Ünïcode name that is long.txt");
  auto c = choose("Ünïcode name that is long.txt");
  std::vector<uint8_t> dir;
  for (auto& e : fat::lfn_slots(u, c.name)) dir.insert(dir.end(), e.b.begin(), e.b.end());
  fat::RawEntry s;
  std::memcpy(s.b.data(), c.name.data(), 11);
  dir.insert(dir.end(), s.b.begin(), s.b.end());
  auto p = fat::parse_directory(dir);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].name, "Ünïcode name that is long.txt");
  EXPECT_EQ(p[0].first_slot, 0u);
  // A bad checksum falls back to the short name.
  dir[13] ^= 1;
  dir[32 + 13] ^= 1;
  dir[64 + 13] ^= 1;
  p = fat::parse_directory(dir);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].name, fat::short_display(c.name, 0));
  // An orphan slot (the first one deleted) too.
  dir[13] ^= 1;
  dir[32 + 13] ^= 1;
  dir[64 + 13] ^= 1;
  dir[0] = fat::kDeleted;
  p = fat::parse_directory(dir);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].name, fat::short_display(c.name, 0));
}

TEST(FatTimes, RoundTrip) {
  uint16_t t, d;
  uint8_t cs;
  fat::unix_to_fat(Timespec{1614834369, 500000000}, t, d, &cs);
  Timespec back = fat::fat_to_unix(t, d, cs);
  EXPECT_EQ(back.sec, 1614834369);
  EXPECT_EQ(back.nsec, 500000000u);
  fat::unix_to_fat(Timespec{0, 0}, t, d, nullptr);
  EXPECT_EQ(fat::fat_to_unix(t, d).sec, 315532800);  // clamped to 1980
  EXPECT_EQ(fat::fat_to_unix(0, (1 << 5) | 1).sec, 315532800);
  EXPECT_EQ(fat::fat_to_unix(0, (20 << 9) | (3 << 5) | 1).sec, 951868800);  // 2000-03-01, after a leap day
}

}  // namespace
}  // namespace dk::fs
