// The QED consistency scan (QEMU's qed-check): every table entry must be a
// valid cluster offset referenced once; invalid entries are cleared when
// fixing; unreferenced clusters are counted as leaks (QED cannot reuse
// them). A fixing scan that leaves nothing unfixed clears need-check.
#include <vector>

#include "formats/core/checked_math.h"
#include "formats/core/endian.h"
#include "formats/qed/layer.h"

namespace dk::fmt::qed {

class Checker {
 public:
  Checker(QedLayer& l, bool fix, CheckResult& r)
      : m_l(l), m_fix(fix), m_r(r), m_used(l.m_geo.file_end / l.m_geo.cluster_size, false) {}

  // Marks n clusters from offset used; false when one already was.
  bool set_used(uint64_t offset, uint64_t n) {
    uint64_t c = offset / m_l.m_geo.cluster_size;
    uint64_t dups = 0;
    for (; n--; c++) {
      if (c >= m_used.size()) continue;  // callers validated offsets
      if (m_used[c]) dups++;
      m_used[c] = true;
    }
    m_r.corruptions += dups;
    return dups == 0;
  }

  // Returns the number of invalid entries of one L2 table.
  uint64_t check_l2(std::vector<uint64_t>& t) {
    const Geometry& g = m_l.m_geo;
    uint64_t invalid = 0, last = 0;
    for (uint64_t& e : t) {
      if (e == 0 || e == kZeroCluster) continue;
      m_r.allocated_clusters++;
      if (last && last + g.cluster_size != e) m_r.fragmented_clusters++;
      last = e;
      if (!g.cluster_offset_valid(e)) {
        if (m_fix) {
          e = 0;
          m_r.corruptions_fixed++;
        } else {
          m_r.corruptions++;
        }
        invalid++;
        continue;
      }
      set_used(e, 1);
    }
    return invalid;
  }

  Result<void> run() {
    QedLayer& l = m_l;
    const Geometry& g = l.m_geo;
    set_used(l.m_header.l1_table_offset, g.table_clusters);
    uint64_t invalid_l1 = 0;
    for (uint64_t& off : l.m_l1) {
      if (off == 0) continue;
      if (!g.table_offset_valid(off)) {
        if (m_fix) {
          off = 0;
          m_r.corruptions_fixed++;
        } else {
          m_r.corruptions++;
        }
        invalid_l1++;
        continue;
      }
      if (!set_used(off, g.table_clusters)) continue;  // shared table: skip it
      std::vector<uint64_t> t(g.table_entries());
      if (!l.io_read(off, std::as_writable_bytes(std::span(t)))) {
        m_r.check_errors++;
        continue;
      }
      for (uint64_t& e : t) e = load_le64(&e);
      if (check_l2(t) > 0 && m_fix) {
        for (uint64_t& e : t) store_le64(&e, e);
        if (!l.io_write(off, std::as_bytes(std::span(t)))) m_r.check_errors++;
      }
    }
    if (invalid_l1 > 0 && m_fix) {
      std::vector<uint64_t> le(l.m_l1);
      for (uint64_t& e : le) store_le64(&e, e);
      if (!l.io_write(l.m_header.l1_table_offset, std::as_bytes(std::span(le)))) m_r.check_errors++;
    }
    if (m_r.check_errors) return {};
    for (uint64_t c = l.m_header.header_size; c < m_used.size(); c++)
      if (!m_used[c]) m_r.leaks++;
    return {};
  }

 private:
  QedLayer& m_l;
  bool m_fix;
  CheckResult& m_r;
  std::vector<bool> m_used;
};

Result<CheckResult> QedLayer::check(bool fix) {
  if (fix && !writable()) return make_error(EROFS, err_prefix() + "cannot repair a read-only image");
  // Scan what is on disk: write back (and forget) cached tables first.
  if (writable()) DK_TRY(writeback_tables());
  m_cache.clear();
  CheckResult r;
  r.total_clusters = div_round_up(m_header.image_size, m_geo.cluster_size);
  Checker c(*this, fix, r);
  DK_TRY(c.run());
  if (fix && r.corruptions == 0 && r.check_errors == 0 && need_check()) {
    // Fixes must be stable before the flag says the image is consistent.
    DK_TRY(m_file.flush());
    m_header.features &= ~kFeatureNeedCheck;
    DK_TRY(write_header());
    DK_TRY(m_file.flush());
  }
  return r;
}

Result<CheckReport> QedLayer::check(CheckFix fix) {
  // QEMU passes any -r mode to qed as "fix"; leaks are only ever reported.
  CheckResult c = DK_TRY(check(fix != kCheckFixNone));
  CheckReport r;
  r.corruptions = c.corruptions;
  r.corruptions_fixed = c.corruptions_fixed;
  r.leaks = c.leaks;
  r.check_errors = c.check_errors;
  r.total_clusters = c.total_clusters;
  r.allocated_clusters = c.allocated_clusters;
  r.fragmented_clusters = c.fragmented_clusters;
  return r;
}

Result<CheckResult> check_qed(Layer& layer, bool fix) {
  auto* q = dynamic_cast<QedLayer*>(&layer);
  if (!q) return make_error(EINVAL, "'" + layer.filename() + "' is not a qed image");
  return q->check(fix);
}

}  // namespace dk::fmt::qed
