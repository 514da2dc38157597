// Creating raw images: QEMU 7.2 file-posix's raw_co_create (size rounded up
// to 512, preallocation off/falloc/full, extent size hint, nocow, and the
// first block written so alignment probing and `map` match QEMU).
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "formats/core/checked_math.h"
#include "formats/core/file.h"
#include "formats/core/lock.h"
#include "formats/raw/raw.h"

namespace dk::fmt {

namespace {

constexpr uint64_t kSector = 512;
constexpr uint64_t kFirstBlock = 4096;

enum class Prealloc { kOff, kFalloc, kFull };

struct RawCreateOptions {
  uint64_t size = 0;
  Prealloc prealloc = Prealloc::kOff;
  uint64_t extent_size_hint = 1u << 20;  // QEMU's default
  bool nocow = false;
};

// QEMU's qemu_strtosz for a -o size option: a number with an optional
// B/K/M/G/T/P/E suffix (powers of 1024; fractions allowed with a suffix).
Result<uint64_t> parse_size_option(const std::string& key, const std::string& text) {
  auto bad = [&] {
    return make_error(EINVAL, "Parameter '" + key + "' expects a non-negative number below 2^64");
  };
  if (text.empty() || text[0] == '-' || text[0] == '+' || std::isspace(static_cast<unsigned char>(text[0])))
    return bad();
  errno = 0;
  char* end = nullptr;
  unsigned long long whole = std::strtoull(text.c_str(), &end, 10);
  if (errno || end == text.c_str()) return bad();
  double frac = 0;
  if (*end == '.') {
    char* fend = nullptr;
    frac = std::strtod(end, &fend);
    end = fend;
  }
  uint64_t mult = 1;
  if (*end) {
    static const std::string kSuffixes = "BKMGTPE";
    size_t i = kSuffixes.find(static_cast<char>(std::toupper(static_cast<unsigned char>(*end))));
    if (i == std::string::npos || end[1]) return bad();
    mult = 1ull << (10 * i);
    end++;
  } else if (frac != 0) {
    return bad();  // QEMU accepts fractions only with a unit suffix
  }
  auto v = checked_mul(whole, mult);
  if (!v) return bad();
  double extra = frac * static_cast<double>(mult);
  if (extra >= 18446744073709551616.0) return bad();
  auto r = checked_add(*v, static_cast<uint64_t>(extra));
  if (!r) return bad();
  return *r;
}

Result<RawCreateOptions> parse_options(const CreateSpec& spec) {
  RawCreateOptions o;
  o.size = spec.size;
  for (const auto& [key, value] : spec.options) {
    if (key == "size") {
      o.size = DK_TRY(parse_size_option(key, value));
    } else if (key == "preallocation") {
      if (value == "off") o.prealloc = Prealloc::kOff;
      else if (value == "falloc") o.prealloc = Prealloc::kFalloc;
      else if (value == "full") o.prealloc = Prealloc::kFull;
      else return make_error(EINVAL, "invalid parameter value: " + value);
    } else if (key == "extent_size_hint") {
      o.extent_size_hint = DK_TRY(parse_size_option(key, value));
    } else if (key == "nocow") {
      if (value == "on") o.nocow = true;
      else if (value == "off") o.nocow = false;
      else return make_error(EINVAL, "Parameter 'nocow' expects 'on' or 'off'");
    } else {
      return make_error(EINVAL, "Invalid parameter '" + key + "'");
    }
  }
  if (!spec.backing_file.empty())
    return make_error(ENOTSUP, "Backing file not supported for file format 'raw'");
  if (o.size > static_cast<uint64_t>(INT64_MAX) - kSector)
    return make_error(EINVAL, "Image size must be less than 8 EiB!");
  o.size = align_up(o.size, kSector);
  if (o.extent_size_hint > UINT32_MAX) return make_error(EINVAL, "Extent size hint is too large");
  return o;
}

// Best-effort file attributes; QEMU ignores failures on file systems without them.
void set_file_attributes(const File& f, const RawCreateOptions& o) {
  if (o.nocow) {
    int attr = 0;
    if (::ioctl(f.fd(), FS_IOC_GETFLAGS, &attr) == 0) {
      attr |= FS_NOCOW_FL;
      (void)::ioctl(f.fd(), FS_IOC_SETFLAGS, &attr);
    }
  }
  if (o.extent_size_hint) {
    struct fsxattr attr = {};
    if (::ioctl(f.fd(), FS_IOC_FSGETXATTR, &attr) == 0) {
      attr.fsx_xflags |= FS_XFLAG_EXTSIZE;
      attr.fsx_extsize = static_cast<uint32_t>(o.extent_size_hint);
      (void)::ioctl(f.fd(), FS_IOC_FSSETXATTR, &attr);
    }
  }
}

Result<void> preallocate(File& f, const RawCreateOptions& o) {
  switch (o.prealloc) {
    case Prealloc::kOff:
      return f.truncate(o.size);
    case Prealloc::kFalloc: {
      auto r = f.fallocate(0, 0, o.size);
      if (!r) return make_error(r.error().code, "Could not preallocate data for the new file: " +
                                                    std::string(std::strerror(r.error().code)));
      return {};
    }
    case Prealloc::kFull: {
      DK_TRY(f.truncate(0));
      std::vector<std::byte> zero(std::min<uint64_t>(o.size, 1u << 20));
      for (uint64_t off = 0; off < o.size;) {
        uint64_t n = std::min<uint64_t>(zero.size(), o.size - off);
        DK_TRY(f.pwrite_all(off, std::span<const std::byte>(zero).first(n)));
        off += n;
      }
      return f.flush();
    }
  }
  return {};
}

}  // namespace

Result<void> create_raw(const std::string& path, const CreateSpec& spec) {
  RawCreateOptions o = DK_TRY(parse_options(spec));
  File f = DK_TRY(File::open(path, O_RDWR | O_CREAT));
  struct stat st;
  if (::fstat(f.fd(), &st) < 0) return errno_error("stat '" + path + "'");
  // Like QEMU: creating needs write and resize and lets nobody else resize.
  DK_TRY(lock_image_perms(f, kPermWrite | kPermResize, kPermAll & ~kPermResize));
  if (S_ISBLK(st.st_mode) || S_ISCHR(st.st_mode)) {
    uint64_t dev = DK_TRY(f.size());
    if (o.size > dev)
      return make_error(ENOSPC, "'" + path + "': the device is smaller than the requested size (" +
                                    std::to_string(dev) + " bytes)");
    return {};
  }
  if (!S_ISREG(st.st_mode)) return make_error(EINVAL, "'" + path + "' is not a regular file");
  DK_TRY(f.truncate(0));
  set_file_attributes(f, o);
  DK_TRY(preallocate(f, o));
  // file-posix writes the first block so O_DIRECT alignment probing works;
  // it also shows up in `map` as data.
  if (o.size > 0 && o.prealloc != Prealloc::kFull) {
    std::vector<std::byte> z(std::min<uint64_t>(o.size, kFirstBlock));
    DK_TRY(f.pwrite_all(0, z));
  }
  return {};
}

}  // namespace dk::fmt
