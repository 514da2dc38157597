#include "formats/core/file.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <utility>

namespace dk {
namespace {

// Test hook for the crash tests (tests/cli/crash), inert unless one of its
// environment variables is set (read once). Counts host modifications: each
// pwrite_all, truncate, fallocate/punch_hole and real flush is one operation.
// DK_TEST_KILL_AFTER_WRITES=N: SIGKILL this process just before operation N,
//   to stop a command at an exact point of its write sequence.
// DK_TEST_COUNT_WRITES=1: at exit, print to stderr the operation count and how
//   many files were modified after their last flush (0 when success is
//   reported only once everything written is stable).
struct TestHook {
  uint64_t kill_at = 0;  // 0: never kill
  bool count = false;
  std::atomic<uint64_t> ops{0};
  std::mutex mu;                // guards dirty and unflushed
  std::set<int> dirty;          // descriptors modified since their last flush
  uint64_t unflushed = 0;       // files closed while dirty
};

void report_test_hook();

TestHook* test_hook() {
  static TestHook* hook = [] {
    const char* kill_at = std::getenv("DK_TEST_KILL_AFTER_WRITES");
    const char* count = std::getenv("DK_TEST_COUNT_WRITES");
    if (!kill_at && !count) return static_cast<TestHook*>(nullptr);
    auto* h = new TestHook;
    if (kill_at) h->kill_at = std::strtoull(kill_at, nullptr, 10);
    if (count && std::atexit(report_test_hook) == 0) h->count = true;
    return h;
  }();
  return hook;
}

void report_test_hook() {
  TestHook* h = test_hook();
  std::lock_guard lock(h->mu);
  std::fprintf(stderr, "dk-test-writes: %llu ops, %llu files unflushed\n",
               static_cast<unsigned long long>(h->ops.load()),
               static_cast<unsigned long long>(h->unflushed + h->dirty.size()));
}

// Called just before each host modification of fd; flush says whether it is one.
void test_hook_op(int fd, bool flush) {
  TestHook* h = test_hook();
  if (!h) return;
  if (h->ops.fetch_add(1) + 1 == h->kill_at) ::kill(::getpid(), SIGKILL);
  if (!h->count) return;
  std::lock_guard lock(h->mu);
  if (flush)
    h->dirty.erase(fd);
  else
    h->dirty.insert(fd);
}

// Called when fd is closed: a file closed with unflushed changes is counted.
void test_hook_close(int fd) {
  TestHook* h = test_hook();
  if (!h || !h->count) return;
  std::lock_guard lock(h->mu);
  h->unflushed += h->dirty.erase(fd);
}

}  // namespace

File::~File() { close(); }

File::File(File&& o) noexcept
    : m_fd(std::exchange(o.m_fd, -1)),
      m_writable(o.m_writable),
      m_flush_enabled(o.m_flush_enabled),
      m_path(std::move(o.m_path)) {}

File& File::operator=(File&& o) noexcept {
  if (this != &o) {
    close();
    m_fd = std::exchange(o.m_fd, -1);
    m_writable = o.m_writable;
    m_flush_enabled = o.m_flush_enabled;
    m_path = std::move(o.m_path);
  }
  return *this;
}

void File::close() {
  if (m_fd >= 0) {
    test_hook_close(m_fd);
    ::close(m_fd);
  }
  m_fd = -1;
}

Result<File> File::open(const std::string& path, int flags, mode_t mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return errno_error("could not open '" + path + "'");
  File f;
  f.m_fd = fd;
  f.m_path = path;
  f.m_writable = (flags & O_ACCMODE) != O_RDONLY;
  return f;
}

Result<void> File::pread_exact(uint64_t off, std::span<std::byte> out) const {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::pread(m_fd, out.data() + done, out.size() - done, static_cast<off_t>(off + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("read from '" + m_path + "' at offset " + std::to_string(off + done));
    }
    if (n == 0)
      return make_error(EIO, "unexpected end of file in '" + m_path + "' at offset " +
                                 std::to_string(off + done));
    done += static_cast<size_t>(n);
  }
  return {};
}

Result<void> File::pread_fill(uint64_t off, std::span<std::byte> out) const {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::pread(m_fd, out.data() + done, out.size() - done, static_cast<off_t>(off + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("read from '" + m_path + "' at offset " + std::to_string(off + done));
    }
    if (n == 0) {
      std::memset(out.data() + done, 0, out.size() - done);
      break;
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

Result<void> File::pwrite_all(uint64_t off, std::span<const std::byte> in) {
  test_hook_op(m_fd, false);
  size_t done = 0;
  while (done < in.size()) {
    ssize_t n = ::pwrite(m_fd, in.data() + done, in.size() - done, static_cast<off_t>(off + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("write to '" + m_path + "' at offset " + std::to_string(off + done));
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

Result<uint64_t> File::size() const {
  struct stat st;
  if (::fstat(m_fd, &st) < 0) return errno_error("stat '" + m_path + "'");
  if (S_ISBLK(st.st_mode)) {
    off_t end = ::lseek(m_fd, 0, SEEK_END);
    if (end < 0) return errno_error("seek '" + m_path + "'");
    return static_cast<uint64_t>(end);
  }
  return static_cast<uint64_t>(st.st_size);
}

Result<uint64_t> File::allocated_size() const {
  struct stat st;
  if (::fstat(m_fd, &st) < 0) return errno_error("stat '" + m_path + "'");
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

Result<void> File::truncate(uint64_t size) {
  test_hook_op(m_fd, false);
  if (::ftruncate(m_fd, static_cast<off_t>(size)) < 0) return errno_error("truncate '" + m_path + "'");
  return {};
}

Result<void> File::fallocate(int mode, uint64_t off, uint64_t len) {
  if (len == 0) return {};
  test_hook_op(m_fd, false);
  if (::fallocate(m_fd, mode, static_cast<off_t>(off), static_cast<off_t>(len)) < 0)
    return errno_error("fallocate '" + m_path + "'");
  return {};
}

Result<void> File::punch_hole(uint64_t off, uint64_t len) {
  return fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);
}

Result<void> File::flush() {
  if (!m_flush_enabled) return {};
  test_hook_op(m_fd, true);
  if (::fdatasync(m_fd) < 0) return errno_error("flush '" + m_path + "'");
  return {};
}

Result<uint64_t> File::seek_data(uint64_t off) const {
  off_t r = ::lseek(m_fd, static_cast<off_t>(off), SEEK_DATA);
  if (r < 0) {
    if (errno == ENXIO) return DK_TRY(size());
    return errno_error("seek '" + m_path + "'");
  }
  return static_cast<uint64_t>(r);
}

Result<uint64_t> File::seek_hole(uint64_t off) const {
  off_t r = ::lseek(m_fd, static_cast<off_t>(off), SEEK_HOLE);
  if (r < 0) {
    if (errno == ENXIO) return DK_TRY(size());
    return errno_error("seek '" + m_path + "'");
  }
  return static_cast<uint64_t>(r);
}

}  // namespace dk
