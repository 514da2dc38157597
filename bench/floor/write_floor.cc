// write_floor: the fastest this machine puts a convert's data into a new
// file's page cache, whatever the tool. It copies the data chunks of
// bench/compare.sh's work image (1 MiB at every 4th MiB: 1 GiB) into a
// fresh file, packed as a qcow2 packs them, three ways:
//   pwrite  one thread, pwrite() from a mapping of the source
//   mmap1   the output mapped shared, memcpy by one thread
//   mmapN   the same with one thread per core (no inode lock on the copy)
// and prints the seconds of each. compare.sh runs it next to qemu-img, so
// "qemu-img time / floor time" is the highest convert ratio any tool can
// reach here: buffered writes to one ext4 file are serialized by the
// file's lock, and the copy into the page cache is most of the time.
//
// usage: write_floor WORK.raw OUT_FILE MODE   (MODE: pwrite, mmap1, mmapN)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: write_floor WORK.raw OUT_FILE pwrite|mmap1|mmapN\n");
    return 2;
  }
  const std::string mode = argv[3];
  constexpr size_t kMiB = 1 << 20;
  int s = ::open(argv[1], O_RDONLY);
  struct stat st {};
  if (s < 0 || ::fstat(s, &st) != 0) {
    std::perror(argv[1]);
    return 1;
  }
  const size_t chunks = static_cast<size_t>(st.st_size) / (4 * kMiB);
  if (chunks == 0) {
    std::fprintf(stderr, "write_floor: %s is smaller than 4 MiB\n", argv[1]);
    return 1;
  }
  auto* src = static_cast<char*>(::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_SHARED, s, 0));
  if (src == MAP_FAILED) {
    std::perror("mmap source");
    return 1;
  }
  ::unlink(argv[2]);
  int d = ::open(argv[2], O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (d < 0) {
    std::perror(argv[2]);
    return 1;
  }
  const size_t out_size = chunks * kMiB;
  auto t0 = std::chrono::steady_clock::now();
  if (mode == "pwrite") {
    for (size_t i = 0; i < chunks; ++i)
      if (::pwrite(d, src + i * 4 * kMiB, kMiB, static_cast<off_t>(i * kMiB)) != static_cast<ssize_t>(kMiB)) {
        std::perror("pwrite");
        return 1;
      }
  } else if (mode == "mmap1" || mode == "mmapN") {
    if (::ftruncate(d, static_cast<off_t>(out_size)) != 0) {
      std::perror("ftruncate");
      return 1;
    }
    auto* dst = static_cast<char*>(::mmap(nullptr, out_size, PROT_READ | PROT_WRITE, MAP_SHARED, d, 0));
    if (dst == MAP_FAILED) {
      std::perror("mmap output");
      return 1;
    }
    unsigned n = mode == "mmap1" ? 1 : std::max(1u, std::thread::hardware_concurrency());
    std::vector<std::thread> ts;
    for (unsigned t = 0; t < n; ++t)
      ts.emplace_back([=] {
        for (size_t i = t; i < chunks; i += n) std::memcpy(dst + i * kMiB, src + i * 4 * kMiB, kMiB);
      });
    for (auto& t : ts) t.join();
    ::munmap(dst, out_size);
  } else {
    std::fprintf(stderr, "write_floor: unknown mode %s\n", mode.c_str());
    return 2;
  }
  ::close(d);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%.3f\n", secs);
  return 0;
}
