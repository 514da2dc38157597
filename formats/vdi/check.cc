// `qemu-img check` for VDI, as QEMU 7.2's vdi_co_check(): every allocated
// block map entry must name a data block below blocks_in_image, no data
// block may be used twice, and the header's blocks_allocated must match.
// QEMU cannot repair VDI images: a check with -r is not supported.
#include <cstdio>

#include "formats/vdi/vdi.h"

namespace dk::fmt::vdi {

Result<CheckReport> VdiLayer::check(CheckFix fix) {
  if (fix) {
    // qemu-img leaves the image as it was: do not let close rewrite the
    // header's block count that a writable open found wrong.
    if (!m_modified) m_dirty_header = false;
    return make_error(ENOTSUP, "This image format does not support checks");
  }
  CheckReport r;
  char buf[128];
  // used[i]: data block i is taken (QEMU keeps the index itself in its map).
  std::vector<bool> used(m_header.blocks_in_image, false);
  uint32_t allocated = 0;
  for (uint32_t block = 0; block < m_bmap.size(); ++block) {
    const uint32_t entry = m_bmap[block];
    if (!is_allocated(entry)) continue;
    if (entry < m_header.blocks_in_image) {
      ++allocated;
      if (!used[entry]) {
        used[entry] = true;
      } else {
        // QEMU prints the data block index twice here; kept for identical output.
        std::snprintf(buf, sizeof buf, "ERROR: block index %u also used by %u", entry, entry);
        r.messages.push_back(buf);
        ++r.corruptions;
      }
    } else {
      std::snprintf(buf, sizeof buf, "ERROR: block index %u too large, is %u", block, entry);
      r.messages.push_back(buf);
      ++r.corruptions;
    }
  }
  if (allocated != m_header.blocks_allocated) {
    std::snprintf(buf, sizeof buf, "ERROR: allocated blocks mismatch, is %u, should be %u", allocated,
                  m_header.blocks_allocated);
    r.messages.push_back(buf);
    ++r.corruptions;
  }
  return r;
}

}  // namespace dk::fmt::vdi
