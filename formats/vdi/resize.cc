// Growing a VDI image (qemu-img 7.2 cannot resize vdi; VirtualBox can).
//
// The block map lies between the header and offset_data. When the bigger
// map does not fit there, the data blocks in the first host slots are
// moved to the end of the file, the new map is written into the space they
// left (never over live metadata), and one header write switches offset_bmap,
// offset_data, blocks_in_image and disk_size together. Each step is flushed
// before the next one depends on it, so a crash leaves either the old or the
// new image, at worst with leaked space.
#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "formats/core/checked_math.h"
#include "formats/core/endian.h"
#include "formats/vdi/vdi.h"

namespace dk::fmt::vdi {

// Moves the data in host slots [0, slots) to new slots at the end, then
// renumbers every entry so that slot `slots` becomes index 0. Returns the
// amount offset_data grows by. The old map is updated in place (it stays
// valid with the old header); the renumbered map only lives in memory until
// grow_bmap writes it at its new place.
Result<uint32_t> VdiLayer::relocate_first_blocks(uint32_t slots) {
  std::vector<uint32_t> owner(slots, kBlockFree);
  for (uint32_t b = 0; b < m_bmap.size(); b++)
    if (is_allocated(m_bmap[b]) && m_bmap[b] < slots) owner[m_bmap[b]] = b;
  // Indexes at or above m_next_index are unused; keep the moved blocks past
  // everything else (and past the slots being vacated).
  uint32_t next = std::max(m_next_index, slots);
  std::vector<std::byte> buf(kBlockSize);
  std::vector<std::pair<uint32_t, uint32_t>> moved;  // block, new index
  for (uint32_t s = 0; s < slots; s++) {
    if (owner[s] == kBlockFree) continue;
    DK_TRY(m_file.pread_fill(block_offset(s), buf));
    DK_TRY(m_file.pwrite_all(block_offset(next), buf));
    moved.emplace_back(owner[s], next++);
  }
  if (!moved.empty()) {
    DK_TRY(m_file.flush());  // the copies are stable before any entry points at them
    for (auto [block, index] : moved) {
      m_bmap[block] = index;
      DK_TRY(write_bmap_range(block, block));
    }
    DK_TRY(m_file.flush());
  }
  for (uint32_t& e : m_bmap)
    if (is_allocated(e)) e -= slots;
  m_next_index = next - slots;
  return slots;
}

// Makes room for new_blocks entries, fills the new entries, writes the map
// at its final place and updates m_header's layout fields (not yet on disk).
Result<void> VdiLayer::grow_bmap(uint32_t new_blocks) {
  const uint32_t old_blocks = m_header.blocks_in_image;
  uint64_t bmap_at = m_header.offset_bmap;
  uint64_t data_at = m_header.offset_data;
  const uint64_t new_bmap_bytes = uint64_t{new_blocks} * 4;
  const bool in_place = bmap_at + new_bmap_bytes <= data_at;
  if (!in_place) {
    bmap_at = align_up(bmap_at + uint64_t{old_blocks} * 4, kSectorSize);
    const uint64_t slots = div_round_up(bmap_at + new_bmap_bytes - data_at, kBlockSize);
    const uint64_t new_data_at = data_at + slots * kBlockSize;
    if (new_data_at > UINT32_MAX)
      return make_error(EFBIG, "'" + filename() + "': the block map for " + std::to_string(new_blocks) +
                                   " blocks does not fit before the data area");
    DK_TRY(relocate_first_blocks(static_cast<uint32_t>(slots)));
    data_at = new_data_at;
  }
  m_bmap.resize(new_blocks, kBlockFree);
  if (m_header.image_type == kTypeStatic) {
    // New blocks of a static image are allocated and read as zero: cut off
    // anything past the last used block, then extend the file.
    const uint64_t first_new = data_at + uint64_t{m_next_index} * kBlockSize;
    DK_TRY(m_file.truncate(first_new));
    DK_TRY(m_file.truncate(first_new + uint64_t{new_blocks - old_blocks} * kBlockSize));
    for (uint32_t b = old_blocks; b < new_blocks; b++) {
      m_bmap[b] = m_next_index++;
      m_allocated++;
    }
  }
  // Write the entries that are new at this place (all of them after a move).
  const uint32_t from = in_place ? old_blocks : 0;
  std::vector<std::byte> buf((size_t{new_blocks} - from) * 4);
  for (uint32_t b = from; b < new_blocks; b++) store_le32(buf.data() + size_t{b - from} * 4, m_bmap[b]);
  DK_TRY(m_file.pwrite_all(bmap_at + uint64_t{from} * 4, buf));
  DK_TRY(m_file.flush());
  m_header.offset_bmap = static_cast<uint32_t>(bmap_at);
  m_header.offset_data = static_cast<uint32_t>(data_at);
  m_header.blocks_in_image = new_blocks;
  return {};
}

Result<void> VdiLayer::do_truncate(uint64_t new_size, bool shrink_allowed) {
  if (new_size > kMaxDiskSize) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "(size is 0x%" PRIx64 ", max supported is 0x%" PRIx64 ")", new_size,
                  kMaxDiskSize);
    return make_error(EFBIG, "'" + filename() + "': Unsupported VDI image size " + buf);
  }
  new_size = align_up(new_size, kSectorSize);
  if (new_size < m_size) {
    if (!shrink_allowed)
      return make_error(EINVAL, "'" + filename() + "': use the --shrink option to perform a shrink operation");
    return make_error(ENOTSUP, "'" + filename() + "': shrinking vdi images is not supported");
  }
  if (new_size == m_size) return {};
  note_modified();
  DK_TRY(do_flush());  // pending allocations reach the disk under the old layout
  const uint32_t new_blocks = static_cast<uint32_t>(div_round_up(new_size, kBlockSize));
  if (new_blocks > m_header.blocks_in_image) DK_TRY(grow_bmap(new_blocks));
  m_header.disk_size = new_size;
  m_header.blocks_allocated = m_allocated;
  DK_TRY(write_header());
  DK_TRY(m_file.flush());
  m_dirty_header = false;
  m_size = new_size;
  return {};
}

}  // namespace dk::fmt::vdi
