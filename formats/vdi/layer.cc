// The vdi Layer: open, read, write (allocating 1 MiB blocks at the end of
// the data area), block status and flush.
#include <fcntl.h>

#include <algorithm>
#include <cstring>

#include "formats/core/checked_math.h"
#include "formats/core/endian.h"
#include "formats/core/lock.h"
#include "formats/vdi/vdi.h"

namespace dk::fmt::vdi {

namespace {

// The three kinds of block map entries; runs of one kind are handled at once.
enum class Kind { kData, kZero, kFree };

Kind kind_of(uint32_t entry) {
  if (is_allocated(entry)) return Kind::kData;
  return entry == kBlockZero ? Kind::kZero : Kind::kFree;
}

}  // namespace

VdiLayer::VdiLayer(File f, bool writable, HeaderSector raw, Header h, std::vector<uint32_t> bmap,
                   BmapStats stats, std::string parent)
    : Layer(f.path(), writable),
      m_file(std::move(f)),
      m_raw(raw),
      m_header(std::move(h)),
      m_bmap(std::move(bmap)),
      m_allocated(stats.allocated),
      m_next_index(stats.next_index),
      m_size(align_up(m_header.disk_size, kSectorSize)),
      m_parent(std::move(parent)) {
  // A header count that disagrees with the map (a crash between a block
  // map update and the header update) is repaired by the next flush.
  m_dirty_header = writable && m_header.blocks_allocated != m_allocated;
}

// Block map updates are kept in memory until flush; closing without an
// explicit flush must not lose them.
VdiLayer::~VdiLayer() {
  if (writable() && (m_dirty_bmap || m_dirty_header)) (void)do_flush();
}

// Length of the run starting at `off` (at most `len` bytes) whose blocks
// all have the kind of the first one and, for data, consecutive indexes.
static uint64_t run_length(std::span<const uint32_t> bmap, uint64_t off, uint64_t len) {
  uint64_t block = off / kBlockSize;
  const uint32_t first = bmap[block];
  const Kind kind = kind_of(first);
  uint64_t n = std::min<uint64_t>(len, kBlockSize - off % kBlockSize);
  for (uint64_t b = block + 1; n < len && b < bmap.size(); b++) {
    const uint32_t e = bmap[b];
    if (kind_of(e) != kind) break;
    if (kind == Kind::kData && uint64_t{e} != uint64_t{first} + (b - block)) break;
    n += std::min<uint64_t>(len - n, kBlockSize);
  }
  return n;
}

Result<void> VdiLayer::do_read(uint64_t off, std::span<std::byte> out) {
  while (!out.empty()) {
    const uint64_t n = run_length(m_bmap, off, out.size());
    const uint32_t entry = m_bmap[off / kBlockSize];
    auto part = out.first(n);
    switch (kind_of(entry)) {
      case Kind::kData:
        // A block that ends past a truncated file reads as zero there (as in QEMU).
        DK_TRY(m_file.pread_fill(block_offset(entry) + off % kBlockSize, part));
        break;
      case Kind::kZero:
        std::memset(part.data(), 0, part.size());
        break;
      case Kind::kFree:
        DK_TRY(read_below(off, part));
        break;
    }
    off += n;
    out = out.subspan(n);
  }
  return {};
}

void VdiLayer::set_entry(uint32_t block, uint32_t value) {
  m_bmap[block] = value;
  if (!m_dirty_bmap) {
    m_dirty_first = m_dirty_last = block;
    m_dirty_bmap = true;
  } else {
    m_dirty_first = std::min(m_dirty_first, block);
    m_dirty_last = std::max(m_dirty_last, block);
  }
}

Result<void> VdiLayer::allocate_block(uint32_t block, uint64_t in_block, std::span<const std::byte> in) {
  uint32_t index = m_next_index;
  if (index >= m_header.blocks_in_image) {
    // Gaps in the index space (left by another writer): reuse the first free index.
    std::vector<bool> used(m_header.blocks_in_image);
    for (uint32_t e : m_bmap)
      if (is_allocated(e)) used[e] = true;
    auto it = std::find(used.begin(), used.end(), false);
    if (it == used.end())
      return make_error(ENOSPC, "'" + filename() + "': no free data block index left");
    index = static_cast<uint32_t>(it - used.begin());
  }
  // Data first: the entry pointing at it reaches the disk only at flush,
  // after the data is stable.
  if (in.size() == kBlockSize) {
    DK_TRY(m_file.pwrite_all(block_offset(index), in));
  } else {
    // The new block holds what reads there now, with `in` on top.
    std::vector<std::byte> buf(kBlockSize);
    const uint64_t base = uint64_t{block} * kBlockSize;
    if (m_bmap[block] == kBlockFree) {
      const uint64_t below = std::min<uint64_t>(kBlockSize, m_size - base);
      DK_TRY(read_below(base, std::span(buf).first(below)));
    }
    std::memcpy(buf.data() + in_block, in.data(), in.size());
    DK_TRY(m_file.pwrite_all(block_offset(index), buf));
  }
  set_entry(block, index);
  m_allocated++;
  m_next_index = std::max(m_next_index, index + 1);
  m_dirty_header = true;
  return {};
}

void VdiLayer::note_modified() {
  if (m_modified) return;
  m_modified = true;
  m_header.uuid_last_snap = uuid_generate();
  m_dirty_header = true;
}

Result<void> VdiLayer::do_write(uint64_t off, std::span<const std::byte> in) {
  note_modified();
  while (!in.empty()) {
    const uint32_t block = static_cast<uint32_t>(off / kBlockSize);
    const uint64_t in_block = off % kBlockSize;
    const uint32_t entry = m_bmap[block];
    uint64_t n;
    if (is_allocated(entry)) {
      n = run_length(m_bmap, off, in.size());
      DK_TRY(m_file.pwrite_all(block_offset(entry) + in_block, in.first(n)));
    } else {
      n = std::min<uint64_t>(in.size(), kBlockSize - in_block);
      DK_TRY(allocate_block(block, in_block, in.first(n)));
    }
    off += n;
    in = in.subspan(n);
  }
  return {};
}

// Zeroing never allocates where the image already reads as zero; a whole
// free block of a differencing image becomes a zero entry.
Result<void> VdiLayer::do_write_zeroes(uint64_t off, uint64_t len, bool) {
  static const std::vector<std::byte> kZeroes(kBlockSize);
  note_modified();
  while (len) {
    const uint32_t block = static_cast<uint32_t>(off / kBlockSize);
    const uint64_t in_block = off % kBlockSize;
    const uint64_t n = std::min<uint64_t>(len, kBlockSize - in_block);
    const uint32_t entry = m_bmap[block];
    if (is_allocated(entry)) {
      DK_TRY(m_file.pwrite_all(block_offset(entry) + in_block, std::span(kZeroes).first(n)));
    } else if (entry == kBlockFree && backing()) {
      if (n == kBlockSize) set_entry(block, kBlockZero);
      else DK_TRY(allocate_block(block, in_block, std::span(kZeroes).first(n)));
    }
    off += n;
    len -= n;
  }
  return {};
}

Result<void> VdiLayer::write_bmap_range(uint32_t first, uint32_t last) {
  std::vector<std::byte> buf((size_t{last} - first + 1) * 4);
  for (uint32_t b = first; b <= last; b++) store_le32(buf.data() + size_t{b - first} * 4, m_bmap[b]);
  return m_file.pwrite_all(uint64_t{m_header.offset_bmap} + uint64_t{first} * 4, buf);
}

Result<void> VdiLayer::write_header() {
  encode_header(m_header, m_raw);
  return m_file.pwrite_all(0, m_raw);
}

Result<void> VdiLayer::do_flush() {
  if (!m_dirty_bmap && !m_dirty_header) return m_file.flush();
  // Order: new blocks' data, then the entries pointing at them, then the count.
  DK_TRY(m_file.flush());
  if (m_dirty_bmap) {
    DK_TRY(write_bmap_range(m_dirty_first, m_dirty_last));
    m_dirty_bmap = false;
  }
  if (m_dirty_header) {
    m_header.blocks_allocated = m_allocated;
    DK_TRY(write_header());
    m_dirty_header = false;
  }
  return m_file.flush();
}

// QEMU returns BDRV_BLOCK_RECURSE for static images, so the host file's
// holes show as zero (and its data extents split the answer).
Result<void> VdiLayer::refine_with_host(Extent& e) {
  const uint64_t fsize = align_up(DK_TRY(m_file.size()), kSectorSize);
  if (e.offset >= fsize) {
    e.flags |= kStatusZero;
    return {};
  }
  const uint64_t n = std::min(e.length, fsize - e.offset);
  const uint64_t data = DK_TRY(m_file.seek_data(e.offset));
  if (data > e.offset) {
    e.flags |= kStatusZero;
    e.length = std::min(n, data - e.offset);
    return {};
  }
  const uint64_t hole = DK_TRY(m_file.seek_hole(e.offset));
  if (hole > e.offset) e.length = std::min(n, hole - e.offset);
  return {};
}

Result<Extent> VdiLayer::do_block_status(uint64_t off, uint64_t len) {
  Extent e;
  e.length = run_length(m_bmap, off, len);
  const uint32_t entry = m_bmap[off / kBlockSize];
  switch (kind_of(entry)) {
    case Kind::kData:
      e.flags = kStatusData | kStatusOffsetValid;
      e.offset = block_offset(entry) + off % kBlockSize;
      e.file = filename();
      if (m_header.image_type == kTypeStatic) DK_TRY(refine_with_host(e));
      break;
    case Kind::kZero:
      e.flags = kStatusZero;
      break;
    case Kind::kFree:
      // QEMU reports unallocated vdi blocks as zero; only a differencing
      // image defers to its parent.
      e.flags = m_parent.empty() ? uint32_t{kStatusZero} : 0u;
      break;
  }
  return e;
}

Result<std::unique_ptr<Layer>> open_vdi(const std::string& path, const OpenOptions& opts) {
  if (opts.snapshot)
    return make_error(ENOTSUP, "'" + path + "': format 'vdi' does not support internal snapshots");
  if (opts.direct)
    return make_error(ENOTSUP, "'" + path + "': the vdi driver does not support O_DIRECT (cache mode none/directsync)");
  int flags = opts.writable ? O_RDWR : O_RDONLY;
  if (opts.sync_writes) flags |= O_DSYNC;
  File f = DK_TRY(File::open(path, flags));
  f.set_flush_enabled(!opts.no_flush);
  DK_TRY(lock_image(f, opts.writable ? LockMode::kWrite : LockMode::kRead, opts.force_share));
  const uint64_t file_size = DK_TRY(f.size());
  HeaderSector raw{};
  DK_TRY(f.pread_fill(0, raw));
  Header h = decode_header(raw);
  DK_TRY(validate_header(h, file_size, path));
  // validate_header bounded the map by the file size, so this allocation is too.
  std::vector<uint32_t> bmap(h.blocks_in_image);
  if (!bmap.empty()) {
    std::vector<std::byte> buf(bmap.size() * 4);
    DK_TRY(f.pread_exact(h.offset_bmap, buf));
    for (size_t i = 0; i < bmap.size(); i++) bmap[i] = load_le32(buf.data() + i * 4);
  }
  BmapStats stats = DK_TRY(check_bmap(h, bmap, file_size, path));
  std::string parent;
  if (!uuid_is_null(h.uuid_link)) parent = DK_TRY(locate_parent(path, h, opts));
  return std::unique_ptr<Layer>(new VdiLayer(std::move(f), opts.writable, raw, std::move(h),
                                             std::move(bmap), stats, std::move(parent)));
}

}  // namespace dk::fmt::vdi
