// The raw driver: a Layer straight over a host file or block device, with
// QEMU 7.2 file-posix semantics for sizes, block status and zeroing.
#include "formats/raw/raw.h"

#include "formats/core/aligned.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "formats/convert/convert.h"
#include "formats/core/checked_math.h"
#include "formats/core/file.h"
#include "formats/core/lock.h"

namespace dk::fmt {

namespace {

constexpr uint64_t kSector = 512;
constexpr uint64_t kMaxDirectAlign = 4096;

// QEMU's raw_probe_alignment: the logical block size of a block device, else
// the smallest size an O_DIRECT read at offset 0 accepts (4096 when unsure).
uint32_t probe_direct_alignment(const File& f, bool is_blk) {
  if (is_blk) {
    int ssz = 0;
    if (::ioctl(f.fd(), BLKSSZGET, &ssz) == 0 && ssz > 0 && is_pow2(static_cast<uint64_t>(ssz)))
      return static_cast<uint32_t>(ssz);
  }
  AlignedBuf buf(kMaxDirectAlign);
  if (!buf.p) return kMaxDirectAlign;
  for (uint32_t a : {1u, 512u, 1024u, 2048u, 4096u}) {
    ssize_t n = ::pread(f.fd(), buf.p, a, 0);
    if (n >= 0 || errno != EINVAL) return a == 1 ? kMaxDirectAlign : a;
  }
  return kMaxDirectAlign;
}

// fallocate errors meaning "this file system cannot do it".
bool fallocate_unsupported(int code) { return code == ENOTSUP || code == EINVAL || code == ENOSYS; }

class RawLayer final : public Layer, public HostMapped, public DeferredWrites {
 public:
  RawLayer(File f, bool writable, uint64_t size, uint32_t align, bool direct, bool probed, bool blk)
      : Layer(f.path(), writable),
        m_file(std::move(f)),
        m_size(size),
        m_align(align),
        m_direct(direct),
        m_probed(probed),
        m_blk(blk) {}

  std::string_view format_name() const override { return "raw"; }
  uint64_t size() const override { return m_size; }
  Result<uint64_t> actual_size() const override { return m_file.allocated_size(); }
  // A probed image gets 512-byte requests so the sector-0 check sees whole sectors.
  uint32_t request_alignment() const override {
    return m_probed ? std::max<uint32_t>(m_align, kSector) : m_align;
  }
  // HostMapped: guest offset = file offset (regular files read through the
  // page cache only).
  Result<Run> host_run(uint64_t off, uint64_t len) override {
    if (m_direct || m_blk) return Run{-1, 0, len};
    const uint64_t fsize = DK_TRY(m_file.size());
    if (off >= fsize) return Run{-1, 0, len};
    return Run{m_file.fd(), off, std::min(len, fsize - off)};
  }
  // DeferredWrites: a plain page-cache write of a regular file is handed
  // back as is; anything needing care (O_DIRECT alignment, the probed
  // sector-0 check, bounds errors, block devices) is written here.
  Result<void> write_deferred(uint64_t off, std::span<const std::byte> in, std::vector<Write>& out) override {
    if (m_direct || m_blk || !writable() || (m_probed && off < kSector) || off > m_size || in.size() > m_size - off)
      return write(off, in);
    if (!in.empty()) out.push_back(Write{m_file.fd(), off, in.data(), in.size()});
    return {};
  }

 protected:
  Result<void> do_read(uint64_t off, std::span<std::byte> out) override;
  Result<void> do_write(uint64_t off, std::span<const std::byte> in) override;
  Result<void> do_write_zeroes(uint64_t off, uint64_t len, bool may_unmap) override;
  Result<void> do_discard(uint64_t off, uint64_t len) override;
  Result<void> do_flush() override { return m_file.flush(); }
  Result<Extent> do_block_status(uint64_t off, uint64_t len) override;
  Result<void> do_truncate(uint64_t new_size, bool shrink_allowed) override;

 private:
  Result<void> check_sector0(std::span<const std::byte> in) const;
  Result<void> direct_pread(uint64_t off, std::span<std::byte> out) const;
  bool needs_bounce(const void* p, size_t len) const {
    return m_direct && (reinterpret_cast<uintptr_t>(p) % kMaxDirectAlign || len % m_align);
  }

  File m_file;
  uint64_t m_size;
  uint32_t m_align;
  bool m_direct;
  bool m_probed;
  bool m_blk;
};

// One O_DIRECT read; a short read means end of file (retrying at the
// unaligned offset would fail with EINVAL), so the rest reads as zero.
Result<void> RawLayer::direct_pread(uint64_t off, std::span<std::byte> out) const {
  ssize_t n;
  do n = ::pread(m_file.fd(), out.data(), out.size(), static_cast<off_t>(off));
  while (n < 0 && errno == EINTR);
  if (n < 0) return errno_error("read from '" + filename() + "' at offset " + std::to_string(off));
  std::memset(out.data() + n, 0, out.size() - static_cast<size_t>(n));
  return {};
}

Result<void> RawLayer::do_read(uint64_t off, std::span<std::byte> out) {
  if (!m_direct) return m_file.pread_fill(off, out);
  if (!needs_bounce(out.data(), out.size())) return direct_pread(off, out);
  // O_DIRECT wants aligned memory and lengths: bounce (the tail past the
  // end of the file simply reads short and is zero-filled).
  const size_t chunk = 1u << 20;
  AlignedBuf buf(chunk);
  if (!buf.p) return make_error(ENOMEM, "out of memory reading '" + filename() + "'");
  while (!out.empty()) {
    size_t n = std::min(out.size(), chunk);
    size_t padded = align_up(n, m_align);
    DK_TRY(direct_pread(off, std::span(buf.p, padded)));
    std::memcpy(out.data(), buf.p, n);
    off += n;
    out = out.subspan(n);
  }
  return {};
}

// QEMU refuses writes that would turn a probed raw image into something the
// next probe detects as another format (a guest writing a qcow2 header could
// otherwise make the host open arbitrary backing files).
Result<void> RawLayer::check_sector0(std::span<const std::byte> in) const {
  auto head = in.first(std::min<size_t>(in.size(), kSector));
  for (const FormatDriver* d : all_drivers()) {
    if (d->name == "raw") continue;
    if (d->probe(head, "") > 1)
      return make_error(EPERM, "'" + filename() +
                                   "': writing to sector 0 of a probed raw image is not allowed "
                                   "when the data looks like a '" + std::string(d->name) +
                                   "' header (specify the format to allow it)");
  }
  return {};
}

Result<void> RawLayer::do_write(uint64_t off, std::span<const std::byte> in) {
  if (m_probed && off < kSector && !in.empty()) DK_TRY(check_sector0(in));
  if (!needs_bounce(in.data(), in.size())) return m_file.pwrite_all(off, in);
  const size_t chunk = 1u << 20;
  AlignedBuf buf(chunk);
  if (!buf.p) return make_error(ENOMEM, "out of memory writing '" + filename() + "'");
  while (!in.empty()) {
    size_t n = std::min(in.size(), chunk);
    std::memcpy(buf.p, in.data(), n);
    DK_TRY(m_file.pwrite_all(off, std::span<const std::byte>(buf.p, n)));
    off += n;
    in = in.subspan(n);
  }
  return {};
}

Result<void> RawLayer::do_write_zeroes(uint64_t off, uint64_t len, bool may_unmap) {
  if (may_unmap) {
    auto r = m_file.punch_hole(off, len);
    if (r || !fallocate_unsupported(r.error().code)) return r;
  }
  // Without KEEP_SIZE a range past EOF extends the file, as a write would.
  auto r = m_file.fallocate(FALLOC_FL_ZERO_RANGE | (m_blk ? FALLOC_FL_KEEP_SIZE : 0), off, len);
  if (!r && fallocate_unsupported(r.error().code)) return make_error(ENOTSUP, "zeroing not supported");
  return r;
}

Result<void> RawLayer::do_discard(uint64_t off, uint64_t len) {
  auto r = m_file.punch_hole(off, len);
  if (!r && fallocate_unsupported(r.error().code)) return make_error(ENOTSUP, "discard not supported");
  return r;
}

// file-posix's raw_co_block_status: SEEK_DATA/SEEK_HOLE, a trailing hole
// reads as zero, and any other lseek failure means "all data".
Result<Extent> RawLayer::do_block_status(uint64_t off, uint64_t len) {
  Extent e;
  e.offset = off;
  e.file = filename();
  e.length = len;
  const int fd = m_file.fd();
  off_t data = ::lseek(fd, static_cast<off_t>(off), SEEK_DATA);
  if (data < 0) {
    e.flags = (errno == ENXIO ? kStatusZero : kStatusData) | kStatusOffsetValid;
    return e;
  }
  if (static_cast<uint64_t>(data) > off) {
    e.flags = kStatusZero | kStatusOffsetValid;
    e.length = std::min<uint64_t>(len, static_cast<uint64_t>(data) - off);
    return e;
  }
  off_t hole = ::lseek(fd, static_cast<off_t>(off), SEEK_HOLE);
  if (hole < 0 || static_cast<uint64_t>(hole) <= off) {
    e.flags = kStatusData | kStatusOffsetValid;
    return e;
  }
  // A data extent ending at an unaligned EOF is rounded up to whole blocks.
  uint64_t n = align_up(static_cast<uint64_t>(hole) - off, m_align);
  e.flags = kStatusData | kStatusOffsetValid;
  e.length = std::min<uint64_t>(len, n);
  return e;
}

Result<void> RawLayer::do_truncate(uint64_t new_size, bool shrink_allowed) {
  if (new_size > static_cast<uint64_t>(INT64_MAX) - kSector)
    return make_error(EFBIG, "'" + filename() + "': size " + std::to_string(new_size) + " is too large");
  if (new_size < m_size && !shrink_allowed)
    return make_error(EINVAL, "'" + filename() + "': use the --shrink option to perform a shrink operation");
  if (m_blk) {
    if (new_size > DK_TRY(m_file.size()))
      return make_error(ENOTSUP, "'" + filename() + "': cannot grow device files");
    m_size = new_size;
    return {};
  }
  uint64_t old = DK_TRY(m_file.size());
  DK_TRY(m_file.truncate(new_size));
  // Like file-posix: a file growing from empty gets its first block written,
  // so later O_DIRECT alignment probing has something to read.
  if (old == 0 && new_size > 0) {
    std::vector<std::byte> z(std::min<uint64_t>(new_size, kMaxDirectAlign));
    DK_TRY(m_file.pwrite_all(0, z));
  }
  m_size = align_up(new_size, kSector);
  return {};
}

}  // namespace

Result<std::unique_ptr<Layer>> open_raw(const std::string& path, const OpenOptions& opts) {
  if (opts.snapshot)
    return make_error(ENOTSUP, "'" + path + "': format 'raw' does not support internal snapshots");
  int flags = opts.writable ? O_RDWR : O_RDONLY;
  if (opts.direct) flags |= O_DIRECT;
  if (opts.sync_writes) flags |= O_DSYNC;
  File f = DK_TRY(File::open(path, flags));
  f.set_flush_enabled(!opts.no_flush);
  struct stat st;
  if (::fstat(f.fd(), &st) < 0) return errno_error("stat '" + path + "'");
  const bool blk = S_ISBLK(st.st_mode);
  if (!blk && !S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))
    return make_error(EINVAL, "'" + path + "' is not a regular file or a block device");
  // QEMU's raw driver passes its user's permissions through and shares everything.
  const unsigned perm = kPermConsistentRead | (opts.writable ? static_cast<unsigned>(kPermWrite) : 0u);
  if (opts.force_share && opts.writable)
    return make_error(EINVAL, "'" + path + "': force-share (-U) can only be used with read-only images");
  DK_TRY(lock_image_perms(f, perm, kPermAll));
  uint64_t fsize = DK_TRY(f.size());
  if (fsize > static_cast<uint64_t>(INT64_MAX) - kSector)
    return make_error(EFBIG, "'" + path + "' is too large");
  const uint32_t align = opts.direct ? probe_direct_alignment(f, blk) : 1;
  // QEMU counts sizes in sectors: a 1000-byte file is a 1024-byte disk whose
  // tail reads as zero.
  const uint64_t size = align_up(fsize, kSector);
  return std::unique_ptr<Layer>(
      new RawLayer(std::move(f), opts.writable, size, align, opts.direct, opts.probed, blk));
}

namespace {

int probe(std::span<const std::byte>, std::string_view) { return 1; }

constexpr OptionDesc kCreateOptions[] = {
    {"extent_size_hint", "size", "Extent size hint for the image file, 0 to disable", ""},
    {"nocow", "bool", "Turn off copy-on-write (valid only on btrfs)", ""},
    {"preallocation", "str", "Preallocation mode (allowed values: off, falloc, full)", ""},
    {"size", "size", "Virtual disk size", ""},
};

}  // namespace

extern const FormatDriver kRawDriver = {"raw", probe, open_raw, create_raw, kCreateOptions, false};

}  // namespace dk::fmt
