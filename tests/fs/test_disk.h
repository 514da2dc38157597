// A scratch raw disk file for fs tests, opened as a diskit layer.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "formats/chain.h"
#include "formats/core/endian.h"

namespace dk::fs::testing {

// Whether a host tool is on PATH (tests that need it skip otherwise).
inline bool have(const char* tool) {
  std::string cmd = std::string("command -v ") + tool + " >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

// Opens a host file as a raw layer: read-write, or read-only sharing it.
inline std::unique_ptr<fmt::Layer> open_raw(const std::string& path, bool writable) {
  fmt::OpenOptions oo;
  oo.writable = writable;
  oo.force_share = !writable;
  auto l = fmt::open_image(path, "raw", oo);
  return l ? std::move(*l) : nullptr;
}

// A whole host file as bytes ("" when unreadable).
inline std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

class TestDisk {
 public:
  explicit TestDisk(size_t size) : bytes(size, 0) {}
  std::vector<uint8_t> bytes;

  // Writes the bytes to a temporary file and opens it as raw, read-only.
  std::unique_ptr<fmt::Layer> open() {
    char tmpl[] = "/tmp/dk-fs-test.XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd < 0) return nullptr;
    m_path = tmpl;
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    ::close(fd);
    fmt::OpenOptions oo;
    oo.force_share = true;
    auto l = fmt::open_image(m_path, "raw", oo);
    return l ? std::move(*l) : nullptr;
  }
  ~TestDisk() {
    if (!m_path.empty()) ::unlink(m_path.c_str());
  }

  // MBR entry i (0..3) in the sector at `sector`.
  void mbr_entry(uint64_t sector, int i, uint8_t type, uint32_t lba, uint32_t count, bool boot = false) {
    uint8_t* e = bytes.data() + sector * 512 + 446 + 16 * i;
    e[0] = boot ? 0x80 : 0;
    e[4] = type;
    store_le32(e + 8, lba);
    store_le32(e + 12, count);
    bytes[sector * 512 + 510] = 0x55;
    bytes[sector * 512 + 511] = 0xaa;
  }

 private:
  std::string m_path;
};

}  // namespace dk::fs::testing
