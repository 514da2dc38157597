// FAT entry access. FAT12 packs two entries in three bytes; its whole table
// (at most 6 KiB) is one chunk, so no entry straddles two chunks.
#include "fs/fat/table.h"

#include <algorithm>

#include "formats/core/endian.h"

namespace dk::fs::fat {

Result<uint8_t*> FatTable::at(uint64_t byte) {
  uint64_t index = byte / kChunk;
  if (index == m_last_index) return m_last + byte % kChunk;
  auto it = m_chunks.find(index);
  if (it == m_chunks.end()) {
    if (m_chunks.size() >= kMaxCleanChunks) {
      // Drop the clean chunks; dirty ones stay until commit().
      for (auto i = m_chunks.begin(); i != m_chunks.end();)
        i = m_dirty.count(i->first) ? std::next(i) : m_chunks.erase(i);
      m_last_index = ~uint64_t{0};
    }
    uint64_t start = index * kChunk;
    uint64_t len = std::min(kChunk, m_g.fat_used_bytes() - start);
    std::vector<uint8_t> buf(len);
    uint64_t copy = m_g.active_fat >= 0 ? static_cast<uint64_t>(m_g.active_fat) : 0;
    auto r = m_dev.read(m_g.fat_offset + copy * m_g.fat_bytes + start, std::as_writable_bytes(std::span(buf)));
    if (!r) return make_error(r.error().with_context("'" + m_name + "': reading the FAT"));
    it = m_chunks.emplace(index, std::move(buf)).first;
  }
  m_last_index = index;
  m_last = it->second.data();
  return m_last + byte % kChunk;
}

Result<uint32_t> FatTable::get(uint32_t c) {
  switch (m_g.type) {
    case FatType::Fat12: {
      uint64_t b = uint64_t{c} * 3 / 2;
      const uint8_t* p = DK_TRY(at(b));
      uint32_t v = load_le16(p);  // both bytes lie in the one FAT12 chunk
      return (c & 1) ? v >> 4 : v & 0xfff;
    }
    case FatType::Fat16: return load_le16(DK_TRY(at(uint64_t{c} * 2)));
    case FatType::Fat32: return load_le32(DK_TRY(at(uint64_t{c} * 4))) & 0x0fffffff;
  }
  return 0;
}

Result<void> FatTable::set(uint32_t c, uint32_t v) {
  uint64_t b = 0;
  switch (m_g.type) {
    case FatType::Fat12: {
      b = uint64_t{c} * 3 / 2;
      uint8_t* p = DK_TRY(at(b));
      uint16_t old = load_le16(p);
      uint16_t nv = (c & 1) ? static_cast<uint16_t>((old & 0x000f) | (v & 0xfff) << 4)
                            : static_cast<uint16_t>((old & 0xf000) | (v & 0xfff));
      store_le16(p, nv);
      break;
    }
    case FatType::Fat16:
      b = uint64_t{c} * 2;
      store_le16(DK_TRY(at(b)), static_cast<uint16_t>(v));
      break;
    case FatType::Fat32: {
      b = uint64_t{c} * 4;
      uint8_t* p = DK_TRY(at(b));
      store_le32(p, (load_le32(p) & 0xf0000000) | (v & 0x0fffffff));
      break;
    }
  }
  m_dirty[b / kChunk] = true;
  return {};
}

Result<void> FatTable::commit() {
  for (auto& [index, unused] : m_dirty) {
    (void)unused;
    const std::vector<uint8_t>& buf = m_chunks.at(index);
    for (uint32_t copy = 0; copy < m_g.num_fats; ++copy) {
      if (m_g.active_fat >= 0 && copy != static_cast<uint32_t>(m_g.active_fat)) continue;
      auto r = m_dev.write(m_g.fat_offset + copy * m_g.fat_bytes + index * kChunk, std::as_bytes(std::span(buf)));
      if (!r) return make_error(r.error().with_context("'" + m_name + "': writing FAT copy " + std::to_string(copy + 1)));
    }
  }
  m_dirty.clear();
  return {};
}

}  // namespace dk::fs::fat
