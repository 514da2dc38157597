#include "formats/core/file.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <utility>

namespace dk {

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
  if (m_fd >= 0) ::close(m_fd);
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
  if (::ftruncate(m_fd, static_cast<off_t>(size)) < 0) return errno_error("truncate '" + m_path + "'");
  return {};
}

Result<void> File::fallocate(int mode, uint64_t off, uint64_t len) {
  if (len == 0) return {};
  if (::fallocate(m_fd, mode, static_cast<off_t>(off), static_cast<off_t>(len)) < 0)
    return errno_error("fallocate '" + m_path + "'");
  return {};
}

Result<void> File::punch_hole(uint64_t off, uint64_t len) {
  return fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);
}

Result<void> File::flush() {
  if (!m_flush_enabled) return {};
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
