// The internal snapshot table: parsed for `info`/`snapshot -l` and for
// opening the image read-only as of a snapshot.
#include <algorithm>
#include <cstring>

#include "formats/core/checked_math.h"
#include "formats/core/endian.h"
#include "formats/qcow2/qcow2.h"

namespace dk::fmt::qcow2 {

Result<void> Qcow2Layer::load_snapshots() {
  const Header& h = m_info.h;
  if (h.nb_snapshots > kMaxSnapshots)
    return make_error(EINVAL, m_name + ": too many snapshots (" + std::to_string(h.nb_snapshots) + ")");
  if (h.nb_snapshots == 0) return {};
  if (h.snapshots_offset % m_cs || h.snapshots_offset < m_cs)
    return make_error(EINVAL, m_name + ": invalid snapshot table offset " + hex(h.snapshots_offset));
  uint64_t off = h.snapshots_offset;
  for (uint32_t i = 0; i < h.nb_snapshots; ++i) {
    if (off - h.snapshots_offset > kMaxSnapshotTableBytes)
      return make_error(EINVAL, m_name + ": snapshot table too large");
    uint8_t fixed[40];
    if (!range_within(off, sizeof fixed, m_file_size))
      return make_error(EINVAL, m_name + ": snapshot table is beyond the end of the file");
    DK_TRY(io_read(m_file, off, std::as_writable_bytes(std::span(fixed))));
    SnapshotRecord s;
    s.l1_table_offset = load_be64(fixed);
    s.l1_size = load_be32(fixed + 8);
    uint16_t id_size = load_be16(fixed + 12), name_size = load_be16(fixed + 14);
    s.info.date_sec = load_be32(fixed + 16);
    s.info.date_nsec = load_be32(fixed + 20);
    s.info.vm_clock_nsec = load_be64(fixed + 24);
    s.info.vm_state_size = load_be32(fixed + 32);
    uint32_t extra_size = load_be32(fixed + 36);
    if (extra_size > kMaxSnapshotExtra)
      return make_error(EINVAL, m_name + ": snapshot " + std::to_string(i) + " has too much extra data");
    uint64_t var = uint64_t(extra_size) + id_size + name_size;
    if (!range_within(off + 40, var, m_file_size))
      return make_error(EINVAL, m_name + ": snapshot table is beyond the end of the file");
    std::vector<uint8_t> buf(var);
    DK_TRY(io_read(m_file, off + 40, std::as_writable_bytes(std::span(buf))));
    s.extra.assign(buf.begin(), buf.begin() + extra_size);
    s.info.id.assign(reinterpret_cast<const char*>(buf.data()) + extra_size, id_size);
    s.info.name.assign(reinterpret_cast<const char*>(buf.data()) + extra_size + id_size, name_size);
    s.info.disk_size = h.size;
    if (extra_size >= 8) s.info.vm_state_size = load_be64(s.extra.data());
    if (extra_size >= 16) s.info.disk_size = load_be64(s.extra.data() + 8);
    if (extra_size >= 24) {
      uint64_t ic = load_be64(s.extra.data() + 16);
      if (ic != UINT64_MAX) s.info.icount = ic;
    }
    if (uint64_t(s.l1_size) * 8 > kMaxL1Bytes)
      return make_error(EFBIG, m_name + ": snapshot L1 table too large");
    if (s.l1_size && (s.l1_table_offset % m_cs || !range_within(s.l1_table_offset, uint64_t(s.l1_size) * 8, m_file_size)))
      return make_error(EINVAL, m_name + ": snapshot " + s.info.id + " L1 table offset " + hex(s.l1_table_offset) +
                                    " is invalid or beyond the end of the file");
    off = align_up(off + 40 + var, 8);
    m_snaps.push_back(std::move(s));
  }
  m_snap_table_bytes = off - h.snapshots_offset;
  return {};
}

Result<void> Qcow2Layer::select_snapshot(const std::string& key) {
  const SnapshotRecord* found = nullptr;
  for (const auto& s : m_snaps)
    if (s.info.id == key) found = &s;
  if (!found)
    for (const auto& s : m_snaps)
      if (s.info.name == key) found = &s;
  if (!found) return make_error(ENOENT, m_name + ": snapshot '" + key + "' not found");
  std::vector<std::byte> buf(uint64_t(found->l1_size) * 8);
  DK_TRY(io_read(m_file, found->l1_table_offset, buf));
  m_l1.assign(found->l1_size, 0);
  for (size_t i = 0; i < m_l1.size(); ++i) m_l1[i] = load_be64(buf.data() + i * 8);
  m_info.h.size = found->info.disk_size;
  m_at_snapshot = true;
  return {};
}

std::vector<SnapshotInfo> Qcow2Layer::snapshots() const {
  std::vector<SnapshotInfo> out;
  for (const auto& s : m_snaps) out.push_back(s.info);
  return out;
}

}  // namespace dk::fmt::qcow2
