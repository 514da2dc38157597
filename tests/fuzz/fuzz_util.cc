#include "tests/fuzz/fuzz_util.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "fs/walk.h"

namespace dk::fuzz {

InputFile::InputFile(const char* name, bool in_private_dir) {
  if (in_private_dir) {
    char dir[] = "/tmp/dk-fuzz-XXXXXX";
    if (!mkdtemp(dir)) {
      std::perror("mkdtemp");
      std::abort();
    }
    m_path = std::string(dir) + "/img";
    m_fd = open(m_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    // Unlinked at exit; a crash leaves an empty directory behind at most.
    static std::string cleanup_dir = dir, cleanup_file = m_path;
    std::atexit([] {
      unlink(cleanup_file.c_str());
      rmdir(cleanup_dir.c_str());
    });
  } else {
    m_fd = memfd_create(name, 0);
    m_path = "/proc/self/fd/" + std::to_string(m_fd);
  }
  if (m_fd < 0) {
    std::perror(name);
    std::abort();
  }
}

bool InputFile::set(const uint8_t* data, size_t size) {
  if (ftruncate(m_fd, 0) != 0) return false;
  size_t done = 0;
  while (done < size) {
    ssize_t n = pwrite(m_fd, data + done, size - done, static_cast<off_t>(done));
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

namespace {
constexpr uint64_t kMaxRead = 4u << 20;     // bytes read from the start
constexpr uint64_t kChunk = 64u << 10;
constexpr int kMaxStatusCalls = 4096;
}  // namespace

void exercise(dk::fmt::Layer& layer) {
  const uint64_t size = layer.size();
  (void)layer.format_name();
  (void)layer.cluster_size();
  (void)layer.backing_filename();
  (void)layer.backing_format();
  (void)layer.dirty();
  (void)layer.snapshots();
  (void)layer.format_specific().dump();
  (void)layer.actual_size();

  std::vector<std::byte> buf(kChunk);
  for (uint64_t off = 0; off < std::min(size, kMaxRead); off += kChunk) {
    uint64_t n = std::min<uint64_t>(kChunk, size - off);
    if (!layer.read(off, std::span(buf.data(), n))) break;
  }
  // A few unaligned reads spread over the whole image (far L1/L2 entries).
  for (uint64_t i = 1; i <= 8 && size > 0; ++i) {
    uint64_t off = size / 9 * i + 123;
    if (off >= size) break;
    uint64_t n = std::min<uint64_t>(4097, size - off);
    (void)layer.read(off, std::span(buf.data(), n));
  }
  // Out-of-range requests must be refused, not crash.
  (void)layer.read(size, std::span(buf.data(), 1));
  (void)layer.block_status(size, 1);

  uint64_t off = 0;
  for (int i = 0; i < kMaxStatusCalls && off < size; ++i) {
    auto e = layer.block_status(off, size - off);
    if (!e || e->length == 0) break;
    if (e->length > size - off) std::abort();  // contract: within the request
    off += e->length;
  }
}

void walk_filesystem(dk::fs::FileSystem& fs, const std::string& extra_path) {
  dk::fs::Mounts tree;
  if (!tree.mount("/", fs)) return;
  int budget = 2000;
  std::vector<std::byte> buf(4096);
  (void)dk::fs::walk(tree, "/", [&](const dk::fs::WalkEntry& e) -> dk::Result<bool> {
    if (--budget < 0) return dk::make_error(E2BIG, "budget");
    if (e.st.type() == dk::fs::FileType::Symlink) {
      (void)e.inode->readlink();
      (void)tree.resolve(e.path, true);
    } else if (e.st.type() == dk::fs::FileType::Regular) {
      (void)e.inode->read(0, buf);
      (void)e.inode->read(e.st.size > 100 ? e.st.size - 100 : 0, buf);
    }
    (void)tree.resolve(e.path + "/../" + e.name, false);
    return true;
  });
  if (!extra_path.empty()) (void)tree.resolve(extra_path, true);
}

}  // namespace dk::fuzz
