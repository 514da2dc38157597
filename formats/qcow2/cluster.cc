// L1/L2 lookup: maps guest offsets to (sub)cluster states and host offsets.
#include <algorithm>
#include <bit>

#include "formats/core/checked_math.h"
#include "formats/core/endian.h"
#include "formats/qcow2/qcow2.h"

namespace dk::fmt::qcow2 {

Result<uint64_t> Qcow2Layer::check_l2_offset(uint64_t l1_entry) const {
  if (l1_entry & kL1ReservedMask & ~kOflagCopied)
    return make_error(EIO, m_name + ": L1 entry " + hex(l1_entry) + " has reserved bits set (image is corrupt)");
  uint64_t off = l1_entry & kL1OffsetMask;
  if (off % m_cs)
    return make_error(EIO, m_name + ": L2 table offset " + hex(off) + " unaligned (image is corrupt)");
  return off;
}

Sub Qcow2Layer::classify(uint64_t entry, uint64_t bitmap, uint32_t sc) const {
  if (entry & kOflagCompressed) return Sub::kCompressed;
  // Offset 0 is valid in an external data file, where COPIED tells allocation apart.
  const bool host = (entry & kL2OffsetMask) != 0 || (m_data.is_open() && (entry & kOflagCopied));
  if (!m_ext_l2) {
    if (entry & kOflagZero) return host ? Sub::kZeroAlloc : Sub::kZeroPlain;
    return host ? Sub::kNormal : Sub::kUnallocPlain;
  }
  const bool alloc = (bitmap >> sc) & 1;
  const bool zero = (bitmap >> (32 + sc)) & 1;
  if (alloc && zero) return Sub::kInvalid;
  if (alloc) return host ? Sub::kNormal : Sub::kInvalid;
  if (zero) return host ? Sub::kZeroAlloc : Sub::kZeroPlain;
  return host ? Sub::kUnallocAlloc : Sub::kUnallocPlain;
}

Result<void> Qcow2Layer::validate_entry(uint64_t entry, uint64_t bitmap, uint64_t guest) const {
  if (entry & kOflagCompressed) {
    if (m_data.is_open())
      return make_error(EIO, m_name + ": compressed cluster at guest offset " + std::to_string(guest) +
                                 " in an image with an external data file (image is corrupt)");
    return {};
  }
  uint64_t host = entry & kL2OffsetMask;
  if (host % m_cs)
    return make_error(EIO, m_name + ": cluster allocation offset " + hex(host) + " unaligned (L2 entry for guest offset " +
                               std::to_string(guest) + "; image is corrupt)");
  if (host && !m_data.is_open() && host >= m_file_size)
    return make_error(EIO, m_name + ": data cluster offset " + hex(host) + " for guest offset " +
                               std::to_string(guest) + " is beyond the end of the file");
  return {};
}

Result<Mapping> Qcow2Layer::lookup(const std::vector<uint64_t>& l1, uint64_t off, uint64_t max,
                                   bool merge_compressed) {
  const uint32_t span_bits = m_cluster_bits + m_l2_bits;
  const uint64_t l1_index = off >> span_bits;
  const uint64_t table_end = (l1_index + 1) << span_bits;
  max = std::min(max, table_end - off);
  Mapping m;
  if (l1_index >= l1.size()) {
    m.bytes = max;
    return m;
  }
  uint64_t l2off = DK_TRY(check_l2_offset(l1[l1_index]));
  if (l2off == 0) {
    m.bytes = max;
    return m;
  }
  CacheEntry* t = DK_TRY(l2_load(l2off, false));
  const std::byte* base = t->data.data();
  const uint64_t mask = l2_entries() - 1;
  const uint32_t esize = m_ext_l2 ? 16 : 8;
  auto at = [&](uint64_t pos, uint64_t& entry, uint64_t& bitmap) {
    uint64_t idx = (pos >> m_cluster_bits) & mask;
    entry = load_be64(base + idx * esize);
    bitmap = m_ext_l2 ? load_be64(base + idx * esize + 8) : 0;
  };
  // Shifts and masks, not divisions: this runs once per cluster of a run
  // and a 64-bit division costs tens of cycles.
  const int sc_bits = std::countr_zero(m_sc_size);
  const uint64_t cs_mask = m_cs - 1;
  uint64_t entry, bitmap;
  at(off, entry, bitmap);
  uint32_t sc = static_cast<uint32_t>((off & cs_mask) >> sc_bits);
  m.type = classify(entry, bitmap, sc);
  if (m.type == Sub::kInvalid)
    return make_error(EIO, m_name + ": invalid L2 entry " + hex(entry) + " / bitmap " + hex(bitmap) +
                               " for guest offset " + std::to_string(off) + " (image is corrupt)");
  DK_TRY(validate_entry(entry, bitmap, off));
  m.l2_entry = entry;
  const bool has_host = m.type == Sub::kNormal || m.type == Sub::kZeroAlloc || m.type == Sub::kUnallocAlloc;
  if (has_host) m.host = (entry & kL2OffsetMask) + (off & (m_cs - 1));
  if (m.type == Sub::kCompressed) {
    m.bytes = std::min(max, m_cs - (off & (m_cs - 1)));
    if (!merge_compressed) return m;
  } else {
    m.bytes = std::min(max, m_sc_size - (off & (m_sc_size - 1)));
  }
  const uint64_t step = m.type == Sub::kCompressed ? m_cs : m_sc_size;
  while (m.bytes < max) {
    uint64_t pos = off + m.bytes;
    at(pos, entry, bitmap);
    sc = static_cast<uint32_t>((pos & cs_mask) >> sc_bits);
    Sub t2 = classify(entry, bitmap, sc);
    if (t2 != m.type) break;
    if (has_host && (entry & kL2OffsetMask) + (pos & cs_mask) != m.host + m.bytes) break;
    // The common valid case inline (this loop runs once per cluster of a
    // run); anything else gets the full check and its error message.
    const uint64_t h = entry & kL2OffsetMask;
    const bool plainly_valid = !(entry & kOflagCompressed) && (h & cs_mask) == 0 && (h == 0 || h < m_file_size) &&
                               !m_data.is_open();
    if (!plainly_valid) DK_TRY(validate_entry(entry, bitmap, pos));
    m.bytes += std::min(max - m.bytes, step);
  }
  return m;
}

}  // namespace dk::fmt::qcow2
