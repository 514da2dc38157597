#include "formats/core/aligned.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

namespace dk {

AlignedBuf::AlignedBuf(size_t n) {
  void* v = nullptr;
  if (posix_memalign(&v, kDirectAlign, std::max<size_t>(n, 1)) != 0) throw std::bad_alloc();
  p = static_cast<std::byte*>(v);
}

AlignedBuf::~AlignedBuf() { std::free(p); }

Result<void> direct_pread(const File& f, uint64_t off, std::span<std::byte> out) {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::pread(f.fd(), out.data() + done, out.size() - done, static_cast<off_t>(off + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("read from '" + f.path() + "' at offset " + std::to_string(off + done));
    }
    done += static_cast<size_t>(n);
    if (n == 0 || done % kDirectAlign) break;
  }
  std::memset(out.data() + done, 0, out.size() - done);
  return {};
}

}  // namespace dk
