// FAT: cluster allocation and freeing. Clusters freed since the last
// commit stay unused until it, so new data never lands in clusters the
// on-disk file system still references.
#include <algorithm>

#include "fs/fat/fat_internal.h"

namespace dk::fs::fat {

Result<std::vector<uint32_t>> FatFs::allocate(uint64_t n, uint32_t tail) {
  DK_TRY(require_writable());
  std::vector<uint32_t> got;
  if (n == 0) return got;
  if (n > DK_TRY(free_count()))
    return make_error(ENOSPC, "'" + m_name + "': " + std::strerror(ENOSPC));
  const uint32_t count = m_g.cluster_count;
  for (int attempt = 0; attempt < 2; ++attempt) {
    got.clear();
    uint32_t start = m_g.valid_cluster(uint64_t{tail} + 1) ? tail + 1 : m_next_free;
    if (!m_g.valid_cluster(start)) start = kFirstCluster;
    uint32_t c = start;
    for (uint32_t i = 0; i < count && got.size() < n; ++i) {
      if (!pending_free(c) && DK_TRY(m_table.get(c)) == 0) got.push_back(c);
      c = c + 1 < count + kFirstCluster ? c + 1 : kFirstCluster;
    }
    if (got.size() == n) break;
    // The rest is freed but not committed yet: commit, then take it.
    if (!m_any_pending || attempt == 1) return make_error(ENOSPC, "'" + m_name + "': " + std::strerror(ENOSPC));
    DK_TRY(commit());
  }
  for (size_t i = 0; i < got.size(); ++i)
    DK_TRY(m_table.set(got[i], i + 1 < got.size() ? got[i + 1] : m_g.eoc_mark()));
  if (tail) DK_TRY(m_table.set(tail, got[0]));
  *m_free -= n;
  m_next_free = got.back();
  m_fsinfo_dirty = true;
  changed();
  return got;
}

Result<void> FatFs::free_chain(uint32_t first) {
  DK_TRY(require_writable());
  uint32_t c = first;
  DK_TRY(free_count());
  for (uint32_t steps = 0; m_g.valid_cluster(c) && steps <= m_g.cluster_count; ++steps) {
    uint32_t next = DK_TRY(m_table.get(c));
    if (next == 0) break;  // already free: the end of a loop or a damaged chain
    DK_TRY(m_table.set(c, 0));
    if (m_pending_free.empty()) m_pending_free.assign((uint64_t{m_g.cluster_count} + kFirstCluster + 63) / 64, 0);
    m_pending_free[c / 64] |= uint64_t{1} << (c % 64);
    m_any_pending = true;
    ++*m_free;
    if (next >= m_g.end_of_chain()) break;
    c = next;
  }
  m_fsinfo_dirty = true;
  changed();
  return {};
}

}  // namespace dk::fs::fat
