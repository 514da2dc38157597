// FLAT (and VMFS) extents: a range of a raw host file.
#include <unistd.h>

#include <algorithm>

#include "formats/core/checked_math.h"
#include "formats/vmdk/extent.h"

namespace dk::fmt::vmdk {

Result<void> FlatExtent::read(uint64_t rel, std::span<std::byte> out, const BelowFn&) {
  auto off = checked_add(m_offset, rel);
  if (!off) return make_error(EINVAL, "'" + path() + "': extent offset overflows");
  return m_file->pread_fill(*off, out);
}

Result<void> FlatExtent::write(uint64_t rel, std::span<const std::byte> in, const BelowFn&) {
  if (!m_file->writable()) return make_error(EROFS, "'" + path() + "': extent is read-only");
  auto off = checked_add(m_offset, rel);
  if (!off) return make_error(EINVAL, "'" + path() + "': extent offset overflows");
  return m_file->pwrite_all(*off, in);
}

// Always data with an offset; like QEMU (which asks the file below), a hole
// in the host file also reads as zero.
Result<Extent> FlatExtent::block_status(uint64_t rel, uint64_t len) {
  Extent e;
  e.file = path();
  e.offset = m_offset + rel;
  e.length = len;
  e.flags = kStatusData | kStatusOffsetValid;
  const int fd = m_file->fd();
  off_t data = ::lseek(fd, static_cast<off_t>(e.offset), SEEK_DATA);
  if (data < 0) {
    if (errno == ENXIO) e.flags |= kStatusZero;
    return e;
  }
  if (static_cast<uint64_t>(data) > e.offset) {
    e.flags |= kStatusZero;
    e.length = std::min<uint64_t>(len, static_cast<uint64_t>(data) - e.offset);
    return e;
  }
  off_t hole = ::lseek(fd, static_cast<off_t>(e.offset), SEEK_HOLE);
  if (hole > data) e.length = std::min<uint64_t>(len, align_up(static_cast<uint64_t>(hole) - e.offset, 512));
  return e;
}

}  // namespace dk::fmt::vmdk
