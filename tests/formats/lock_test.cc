// Locks against real QEMU processes: qemu-io holds an image open while we
// try to open it, and the other way round.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include <gtest/gtest.h>

#include "formats/core/file.h"
#include "formats/core/lock.h"
#include "formats/raw/raw.h"
#include "tests/formats/raw/test_support.h"

namespace dk {
namespace {

using fmt::testing::have_program;
using fmt::testing::run;
using fmt::testing::TempDir;

bool byte_locked(const std::string& path, off_t byte) {
  auto f = File::open(path, O_RDONLY);
  if (!f) return false;
  struct flock fl = {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = byte;
  fl.l_len = 1;
  return ::fcntl(f->fd(), F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
}

// A qemu-io process holding `path` open until destroyed.
class QemuIoHolder {
 public:
  QemuIoHolder(const std::string& args, const std::string& path) {
    m_pipe = ::popen(("exec qemu-io " + args + " '" + path + "' >/dev/null 2>&1").c_str(), "w");
    // Wait until it holds its consistent-read lock (byte 100).
    for (int i = 0; i < 100 && m_pipe && !byte_locked(path, 100); i++)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ~QemuIoHolder() {
    if (m_pipe) ::pclose(m_pipe);
  }

 private:
  FILE* m_pipe = nullptr;
};

class LockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_program("qemu-io") || !have_program("qemu-img")) GTEST_SKIP() << "qemu-io/qemu-img missing";
    m_qcow2 = m_dir.path("q.qcow2");
    m_raw = m_dir.path("r.img");
    int st = 0;
    run("qemu-img create -q -f qcow2 '" + m_qcow2 + "' 1M && qemu-img create -q -f raw '" + m_raw +
            "' 1M",
        &st);
    ASSERT_EQ(st, 0);
  }
  TempDir m_dir;
  std::string m_qcow2, m_raw;
};

TEST_F(LockTest, QemuWriterBlocksOurReader) {
  QemuIoHolder h("-f qcow2", m_qcow2);
  ASSERT_TRUE(byte_locked(m_qcow2, 101));
  File f = *File::open(m_qcow2, O_RDONLY);
  auto r = lock_image(f, LockMode::kRead, false);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EAGAIN);
  EXPECT_NE(r.error().message.find("image is in use"), std::string::npos);
  EXPECT_NE(r.error().message.find("-U"), std::string::npos);
  File g = *File::open(m_qcow2, O_RDONLY);
  EXPECT_TRUE(lock_image(g, LockMode::kRead, true));  // -U
  File w = *File::open(m_qcow2, O_RDWR);
  EXPECT_FALSE(lock_image(w, LockMode::kWrite, false));
}

TEST_F(LockTest, QemuReaderBlocksOurWriterOnly) {
  QemuIoHolder h("-r -f qcow2", m_qcow2);
  File f = *File::open(m_qcow2, O_RDONLY);
  EXPECT_TRUE(lock_image(f, LockMode::kRead, false));
  File w = *File::open(m_qcow2, O_RDWR);
  auto r = lock_image(w, LockMode::kWrite, false);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EAGAIN);
  // Opening the qcow2 file as raw for writing conflicts too, as in QEMU.
  fmt::OpenOptions o;
  o.writable = true;
  EXPECT_FALSE(fmt::open_raw(m_qcow2, o));
}

TEST_F(LockTest, OurWriterBlocksQemuImgInfo) {
  File w = *File::open(m_qcow2, O_RDWR);
  ASSERT_TRUE(lock_image(w, LockMode::kWrite, false));
  int st = 0;
  run("qemu-img info '" + m_qcow2 + "' 2>&1", &st);
  EXPECT_EQ(st, 1);
  run("qemu-img info -U '" + m_qcow2 + "' 2>&1", &st);
  EXPECT_EQ(st, 0);
  run("qemu-io -c 'read 0 512' '" + m_qcow2 + "' 2>&1", &st);
  EXPECT_NE(st, 0);
}

TEST_F(LockTest, OurReaderBlocksQemuWriter) {
  File f = *File::open(m_qcow2, O_RDONLY);
  ASSERT_TRUE(lock_image(f, LockMode::kRead, false));
  int st = 0;
  run("qemu-io -f qcow2 -c 'write 0 512' '" + m_qcow2 + "' 2>&1", &st);
  EXPECT_NE(st, 0);
  run("qemu-io -r -f qcow2 -c 'read 0 512' '" + m_qcow2 + "' 2>&1", &st);
  EXPECT_EQ(st, 0);
  f.close();  // closing the file description drops the locks
  run("qemu-io -f qcow2 -c 'write 0 512' '" + m_qcow2 + "' 2>&1", &st);
  EXPECT_EQ(st, 0);
}

// QEMU's raw driver shares everything: a raw image written by qemu-io can
// still be opened by others, in both directions.
TEST_F(LockTest, RawSharesLikeQemu) {
  {
    QemuIoHolder h("-f raw", m_raw);
    ASSERT_TRUE(byte_locked(m_raw, 101));
    auto r = fmt::open_raw(m_raw, {});
    EXPECT_TRUE(r) << r.error().message;
  }
  fmt::OpenOptions o;
  o.writable = true;
  auto w = fmt::open_raw(m_raw, o);
  ASSERT_TRUE(w);
  int st = 0;
  run("qemu-io -f raw -c 'write 0 512' '" + m_raw + "' 2>&1", &st);
  EXPECT_EQ(st, 0);
  run("qemu-img info '" + m_raw + "' 2>&1", &st);
  EXPECT_EQ(st, 0);
  EXPECT_TRUE(byte_locked(m_raw, 100));
  EXPECT_TRUE(byte_locked(m_raw, 101));
  EXPECT_FALSE(byte_locked(m_raw, 201));
}

TEST(Lock, ForceShareRefusedForWriters) {
  TempDir t;
  std::string p = t.path("x");
  run("truncate -s 4096 '" + p + "'");
  File w = *File::open(p, O_RDWR);
  auto r = lock_image(w, LockMode::kWrite, true);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EINVAL);
}

TEST(Lock, TwoOfOursConflict) {
  TempDir t;
  std::string p = t.path("x");
  run("truncate -s 4096 '" + p + "'");
  File a = *File::open(p, O_RDWR);
  ASSERT_TRUE(lock_image(a, LockMode::kWrite, false));
  File b = *File::open(p, O_RDONLY);
  EXPECT_FALSE(lock_image(b, LockMode::kRead, false));
  File c = *File::open(p, O_RDONLY);
  EXPECT_TRUE(lock_image(c, LockMode::kRead, true));
  a.close();
  File d = *File::open(p, O_RDONLY);
  EXPECT_TRUE(lock_image(d, LockMode::kRead, false));
}

}  // namespace
}  // namespace dk
