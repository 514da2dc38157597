// File: a thin, Result-returning wrapper over a POSIX file descriptor. Every
// image driver does its host I/O through it (so tests can reason about it and
// errors carry the file name).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "formats/core/error.h"

namespace dk {

class File {
 public:
  File() = default;
  ~File();
  File(File&& o) noexcept;
  File& operator=(File&& o) noexcept;
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  // Opens path with open(2) flags (O_CLOEXEC is added).
  static Result<File> open(const std::string& path, int flags, mode_t mode = 0644);

  bool is_open() const { return m_fd >= 0; }
  int fd() const { return m_fd; }
  const std::string& path() const { return m_path; }
  bool writable() const { return m_writable; }

  // Reads exactly out.size() bytes; a short read is an EIO error naming the file.
  Result<void> pread_exact(uint64_t off, std::span<std::byte> out) const;
  // Reads out.size() bytes; the part past end of file reads as zeroes (QEMU's
  // semantics for a format driver reading its protocol file).
  Result<void> pread_fill(uint64_t off, std::span<std::byte> out) const;
  // Writes all of in.
  Result<void> pwrite_all(uint64_t off, std::span<const std::byte> in);

  Result<uint64_t> size() const;
  // Bytes allocated on disk (st_blocks * 512).
  Result<uint64_t> allocated_size() const;
  Result<void> truncate(uint64_t size);
  // fallocate(mode) over [off, off+len).
  Result<void> fallocate(int mode, uint64_t off, uint64_t len);
  // Deallocates [off, off+len) keeping the size (reads back as zero); ENOTSUP when unsupported.
  Result<void> punch_hole(uint64_t off, uint64_t len);
  // fdatasync(2); a no-op after set_flush_enabled(false) (cache=unsafe).
  Result<void> flush();
  void set_flush_enabled(bool on) { m_flush_enabled = on; }

  // Next data at or after off (SEEK_DATA); returns size when only a hole follows.
  Result<uint64_t> seek_data(uint64_t off) const;
  // Next hole at or after off (SEEK_HOLE); end of file counts as a hole.
  Result<uint64_t> seek_hole(uint64_t off) const;

  void close();

 private:
  int m_fd = -1;
  bool m_writable = false;
  bool m_flush_enabled = true;
  std::string m_path;
};

}  // namespace dk
