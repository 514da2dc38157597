// `qemu-img check` for qcow2, following QEMU 7.2's qcow2_check_refcounts():
// every reference (header, L1/L2 tables of the active state and of each
// snapshot, data and compressed clusters, snapshot table, bitmaps, refcount
// table and blocks) is counted in an in-memory array, which is compared
// with the stored refcounts; OFLAG_COPIED is checked last. With -r, wrong
// refcounts are updated in place, and when a used cluster has refcount 0
// the whole refcount structure is rebuilt (new blocks and table written to
// free clusters, then the header switched to them in one write).
// Diagnostics are QEMU's, word for word, so scripts comparing them work.
#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "formats/core/checked_math.h"
#include "formats/core/endian.h"
#include "formats/qcow2/qcow2.h"

namespace dk::fmt::qcow2 {

namespace {

constexpr uint64_t kL2StdReservedMask = 0x3f000000000001feull;
constexpr uint64_t kRefTableReservedMask = 0x1ffull;
constexpr uint64_t kBitmapEntryOffsetMask = 0x00fffffffffffe00ull;
constexpr uint64_t kBitmapEntryReservedMask = 0xff000000000001feull;
constexpr uint64_t kBitmapAllZeroes = 0xffffffff00000000ull;
// The in-memory array holds one uint64_t per host cluster: cap it (QEMU's
// own cap, INT_MAX clusters, would allow 16 GiB for a hostile sparse file).
constexpr uint64_t kMaxCheckClusters = 1ull << 28;

std::string printf_str(const char* f, ...) __attribute__((format(printf, 1, 2)));
std::string printf_str(const char* f, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, f);
  vsnprintf(buf, sizeof buf, f, ap);
  va_end(ap);
  return buf;
}

using ull = unsigned long long;

}  // namespace

class Checker {
 public:
  Checker(Qcow2Layer& q, CheckReport& r) : m_q(q), m_r(r), m_cs(q.m_cs) {
    m_refmax = q.m_refcount_bits == 64 ? UINT64_MAX : (1ull << q.m_refcount_bits) - 1;
    while ((1ull << m_rb_bits) < q.m_rb_entries) ++m_rb_bits;
  }

  // qcow2_check_refcounts() followed by the clean marking of qcow2_co_check.
  Result<void> run(CheckFix fix);

 private:
  void msg(std::string s) { m_r.messages.push_back(std::move(s)); }
  Result<void> grow(uint64_t n);
  Result<void> inc(uint64_t off, uint64_t size);
  Result<void> calculate(CheckFix fix, bool& rebuild);
  Result<void> walk_l1(uint64_t l1_off, uint64_t l1_size, bool frag, CheckFix fix, bool active);
  Result<void> walk_l2(uint64_t l2_off, bool frag, CheckFix fix, bool active);
  Result<bool> fix_entry_by_zero(uint64_t l2_off, std::vector<std::byte>& t, uint64_t i);
  Result<void> bitmaps();
  Result<void> refblocks(CheckFix fix, bool& rebuild);
  void compare(CheckFix fix, bool& rebuild, uint64_t& highest);
  Result<uint64_t> stored_refcount(uint64_t c);
  Result<void> rebuild_structure();
  Result<bool> write_refblocks(uint64_t first, uint64_t end, std::vector<uint64_t>& rt);
  Result<uint64_t> alloc_imrt(uint64_t n, uint64_t& first_free);
  Result<void> oflag_copied(CheckFix fix);

  Qcow2Layer& m_q;
  CheckReport& m_r;
  const uint64_t m_cs;
  uint64_t m_refmax;
  std::vector<uint64_t> m_ref;  // references per host cluster (QEMU's in-memory refcount table)
  // The refcount block stored_refcount() used last (a cache entry stays put
  // until another block is loaded; reset whenever the cache may change).
  uint64_t m_last_rb = UINT64_MAX;
  const std::byte* m_last_data = nullptr;
  uint32_t m_rb_bits = 0;  // log2(refcount entries per block)
};

Result<void> Checker::grow(uint64_t n) {
  if (n > kMaxCheckClusters) {
    ++m_r.check_errors;
    return make_error(ENOMEM, m_q.m_name + ": too many clusters to check");
  }
  if (n > m_ref.size()) m_ref.resize(n, 0);
  return {};
}

// qcow2_inc_refcounts_imrt(): a region may end less than one cluster past
// the end of the file (the last cluster may be partly written).
Result<void> Checker::inc(uint64_t off, uint64_t size) {
  if (size == 0 || static_cast<int64_t>(size) < 0) return {};
  const uint64_t end = off + size;
  if (end < off || end >= m_q.m_file_size + m_cs) {
    msg(printf_str("ERROR: counting reference for region exceeding the end of the file by one cluster or more: "
                   "offset 0x%llx size 0x%llx",
                   ull(off), ull(size)));
    ++m_r.corruptions;
    return {};
  }
  const uint32_t cb = m_q.m_cluster_bits;
  for (uint64_t k = off >> cb; k <= (end - 1) >> cb; ++k) {
    if (k >= m_ref.size()) DK_TRY(grow(k + 1));
    if (m_ref[k] == m_refmax) {
      msg(printf_str("ERROR: overflow cluster offset=0x%llx", ull(k * m_cs)));
      msg("Use qemu-img amend to increase the refcount entry width or qemu-img convert to create a clean copy if "
          "the image cannot be opened for writing");
      ++m_r.corruptions;
      continue;
    }
    ++m_ref[k];
  }
  return {};
}

Result<void> Checker::walk_l1(uint64_t l1_off, uint64_t l1_size, bool frag, CheckFix fix, bool active) {
  if (l1_size == 0) return {};
  DK_TRY(inc(l1_off, l1_size * 8));
  std::vector<std::byte> buf(l1_size * 8);
  if (!m_q.io_read(m_q.m_file, l1_off, buf)) {
    msg("ERROR: I/O error in check_refcounts_l1");
    ++m_r.check_errors;
    return make_error(EIO, m_q.m_name + ": reading an L1 table");
  }
  for (uint64_t i = 0; i < l1_size; ++i) {
    const uint64_t e = load_be64(buf.data() + i * 8);
    if (e == 0) continue;
    if (e & kL1ReservedMask) {
      msg(printf_str("ERROR found L1 entry with reserved bits set: %llx", ull(e)));
      ++m_r.corruptions;
    }
    const uint64_t l2 = e & kL1OffsetMask;
    DK_TRY(inc(l2, m_cs));
    if (l2 % m_cs) {
      msg(printf_str("ERROR l2_offset=%llx: Table is not cluster aligned; L1 entry corrupted", ull(l2)));
      ++m_r.corruptions;
    }
    DK_TRY(walk_l2(l2, frag, fix, active));
  }
  return {};
}

Result<void> Checker::walk_l2(uint64_t l2_off, bool frag, CheckFix fix, bool active) {
  Qcow2Layer& q = m_q;
  const uint32_t esize = q.m_ext_l2 ? 16 : 8;
  const uint32_t shift = 62 - (q.m_cluster_bits - 8);
  const uint64_t csize_mask = (1ull << (q.m_cluster_bits - 8)) - 1;
  const bool data_file = q.m_data.is_open();
  std::vector<std::byte> t(q.l2_entries() * esize);
  if (!q.io_read(q.m_file, l2_off, t)) {
    msg("ERROR: I/O error in check_refcounts_l2");
    ++m_r.check_errors;
    return make_error(EIO, q.m_name + ": reading an L2 table");
  }
  uint64_t next_contiguous = 0;
  for (uint64_t i = 0; i < q.l2_entries(); ++i) {
    uint64_t e = load_be64(t.data() + i * esize);
    const uint64_t bitmap = q.m_ext_l2 ? load_be64(t.data() + i * esize + 8) : 0;
    const uint64_t off = e & kL2OffsetMask;
    if (e & kOflagCompressed) {
      if (e & kOflagCopied) {
        msg(printf_str("ERROR: coffset=0x%llx: copied flag must never be set for compressed clusters",
                       ull(e & ((1ull << shift) - 1))));
        e &= ~kOflagCopied;
        ++m_r.corruptions;
      }
      if (data_file) {
        msg(printf_str("ERROR compressed cluster %d with data file, entry=0x%llx", int(i), ull(e)));
        ++m_r.corruptions;
        continue;
      }
      if (bitmap) {
        msg(printf_str("ERROR compressed cluster %d with non-zero subcluster allocation bitmap, entry=0x%llx",
                       int(i), ull(e)));
        ++m_r.corruptions;
        continue;
      }
      const uint64_t coff = e & ((1ull << shift) - 1);
      const uint64_t nb = ((e >> shift) & csize_mask) + 1;
      DK_TRY(inc(coff, nb * 512 - (coff & 511)));
      if (frag) ++m_r.allocated_clusters, ++m_r.compressed_clusters, ++m_r.fragmented_clusters;
      continue;
    }
    if (e & kL2StdReservedMask) {
      msg(printf_str("ERROR found l2 entry with reserved bits set: %llx", ull(e)));
      ++m_r.corruptions;
    }
    const bool zero_plain = (e & kOflagZero) && !q.m_ext_l2 && !off;
    const bool normal = !zero_plain && (off || (data_file && (e & kOflagCopied)));
    if (!normal) {
      if (!zero_plain && (bitmap & 0xffffffffull)) {
        ++m_r.corruptions;
        msg("ERROR: Unallocated cluster has non-zero subcluster allocation map");
      }
      continue;
    }
    // QCOW2_CLUSTER_NORMAL or QCOW2_CLUSTER_ZERO_ALLOC.
    if ((bitmap >> 32) & bitmap) {
      ++m_r.corruptions;
      msg(printf_str("ERROR offset=%llx: Allocated cluster has corrupted subcluster allocation bitmap", ull(off)));
    }
    if (off % m_cs) {
      ++m_r.corruptions;
      const bool has_data = q.m_ext_l2 ? (bitmap & 0xffffffffull) : !(e & kOflagZero);
      if (!has_data) {
        const bool fixing = fix & kCheckFixErrors;
        msg(printf_str("%s offset=%llx: Preallocated cluster is not properly aligned; L2 entry corrupted.",
                       fixing ? "Repairing" : "ERROR", ull(off)));
        if (fixing) {
          auto fixed = fix_entry_by_zero(l2_off, t, i);
          if (fixed && *fixed) continue;  // the cluster is unused now
        }
      } else {
        msg(printf_str("ERROR offset=%llx: Data cluster is not properly aligned; L2 entry corrupted.", ull(off)));
      }
    }
    if (frag) {
      ++m_r.allocated_clusters;
      if (next_contiguous && off != next_contiguous) ++m_r.fragmented_clusters;
      next_contiguous = off + m_cs;
    }
    if (!data_file) DK_TRY(inc(off, m_cs));
  }
  (void)active;
  return {};
}

// fix_l2_entry_by_zero(): an unaligned preallocated (zero) entry becomes a
// plain zero entry, written through at once.
Result<bool> Checker::fix_entry_by_zero(uint64_t l2_off, std::vector<std::byte>& t, uint64_t i) {
  Qcow2Layer& q = m_q;
  const uint32_t esize = q.m_ext_l2 ? 16 : 8;
  std::byte* p = t.data() + i * esize;
  if (q.m_ext_l2) {
    uint64_t bm = load_be64(p + 8);
    bm |= bm << 32;
    bm &= kBitmapAllZeroes;
    store_be64(p + 8, bm);
    store_be64(p, 0);
  } else {
    store_be64(p, kOflagZero);
  }
  auto w = q.io_write(q.m_file, l2_off + i * esize, std::span<const std::byte>(p, esize));
  if (w) w = q.m_file.flush();
  if (!w) {
    msg("ERROR: Failed to overwrite L2 table entry: " + std::string(strerror(w.error().code)));
    ++m_r.check_errors;
    return false;
  }
  --m_r.corruptions;
  ++m_r.corruptions_fixed;
  return true;
}

// qcow2_check_bitmaps_refcounts(): the bitmap directory and bitmap tables,
// when the autoclear bit says the bitmaps are valid.
Result<void> Checker::bitmaps() {
  Qcow2Layer& q = m_q;
  if (!(q.m_info.h.autoclear_features & kAutoclearBitmaps)) return {};
  const Extension* ext = nullptr;
  for (const Extension& x : q.m_info.unknown)
    if (x.type == kExtBitmaps) ext = &x;
  if (!ext || ext->data.size() < 24) return {};
  const auto* d = reinterpret_cast<const std::byte*>(ext->data.data());
  const uint32_t nb = load_be32(d);
  const uint64_t dir_size = load_be64(d + 8), dir_off = load_be64(d + 16);
  if (nb == 0) return {};
  DK_TRY(inc(dir_off, dir_size));
  auto bad = [&]() -> Result<void> {
    ++m_r.corruptions;
    return make_error(EINVAL, q.m_name + ": bitmap directory is corrupt");
  };
  if (dir_size > (64u << 20) || !range_within(dir_off, dir_size, q.m_file_size)) return bad();
  std::vector<std::byte> dir(dir_size);
  if (!q.io_read(q.m_file, dir_off, dir)) return bad();
  uint64_t pos = 0;
  for (uint32_t n = 0; n < nb; ++n) {
    if (pos + 24 > dir_size) return bad();
    const uint64_t toff = load_be64(dir.data() + pos);
    const uint32_t tsize = load_be32(dir.data() + pos + 8);
    const uint16_t name_size = load_be16(dir.data() + pos + 18);
    const uint32_t extra = load_be32(dir.data() + pos + 20);
    pos += align_up(24ull + extra + name_size, 8);
    if (pos > dir_size) return bad();
    DK_TRY(inc(toff, uint64_t(tsize) * 8));
    // Validate before allocating: the size comes from the file.
    if (toff % m_cs || !range_within(toff, uint64_t(tsize) * 8, q.m_file_size)) {
      ++m_r.corruptions;
      break;
    }
    std::vector<std::byte> tab(uint64_t(tsize) * 8);
    if (!q.io_read(q.m_file, toff, tab)) {
      ++m_r.corruptions;
      break;
    }
    for (uint32_t i = 0; i < tsize; ++i) {
      const uint64_t e = load_be64(tab.data() + i * 8);
      const uint64_t off = e & kBitmapEntryOffsetMask;
      if ((e & kBitmapEntryReservedMask) || (off && ((e & 1) || off % m_cs))) {
        ++m_r.corruptions;
        continue;
      }
      if (off) DK_TRY(inc(off, m_cs));
    }
  }
  return {};
}

// check_refblocks(): each refcount block is referenced exactly once; a
// block past the end of the file is fixed by growing the file.
Result<void> Checker::refblocks(CheckFix fix, bool& rebuild) {
  Qcow2Layer& q = m_q;
  for (uint64_t i = 0; i < q.m_rt.size(); ++i) {
    const uint64_t off = q.m_rt[i] & kRefTableOffsetMask, cluster = off / m_cs;
    if (q.m_rt[i] & kRefTableReservedMask) {
      msg(printf_str("ERROR refcount table entry %lld has reserved bits set", (long long)i));
      ++m_r.corruptions;
      rebuild = true;
      continue;
    }
    if (off % m_cs) {
      msg(printf_str("ERROR refcount block %lld is not cluster aligned; refcount table entry corrupted",
                     (long long)i));
      ++m_r.corruptions;
      rebuild = true;
      continue;
    }
    if (cluster >= m_ref.size()) {
      ++m_r.corruptions;
      const bool fixing = fix & kCheckFixErrors;
      msg(printf_str("%s refcount block %lld is outside image", fixing ? "Repairing" : "ERROR", (long long)i));
      if (!fixing) continue;
      Result<void> t = cluster < kMaxCheckClusters ? q.m_file.truncate(off + m_cs)
                                                    : Result<void>(make_error(EINVAL, "offset too large"));
      if (t) {
        q.m_file_size = off + m_cs;
        DK_TRY(grow(div_round_up(q.m_file_size, m_cs)));
        --m_r.corruptions;
        ++m_r.corruptions_fixed;
        DK_TRY(inc(off, m_cs));
        continue;
      }
      rebuild = true;
      msg("ERROR could not resize image: " + std::string(strerror(t.error().code)));
      continue;
    }
    if (off) {
      DK_TRY(inc(off, m_cs));
      if (m_ref[cluster] != 1) {
        msg(printf_str("ERROR refcount block %lld refcount=%llu", (long long)i, ull(m_ref[cluster])));
        ++m_r.corruptions;
        rebuild = true;
      }
    }
  }
  return {};
}

// calculate_refcounts().
Result<void> Checker::calculate(CheckFix fix, bool& rebuild) {
  Qcow2Layer& q = m_q;
  const Header& h = q.m_info.h;
  DK_TRY(inc(0, m_cs));
  DK_TRY(walk_l1(h.l1_table_offset, h.l1_size, true, fix, true));
  if (q.m_data.is_open() && !q.m_snaps.empty()) {
    msg(printf_str("ERROR %d snapshots in image with data file", int(q.m_snaps.size())));
    ++m_r.corruptions;
  }
  for (const SnapshotRecord& s : q.m_snaps) {
    if (s.l1_table_offset % m_cs) {
      msg(printf_str("ERROR snapshot %s (%s) l1_offset=%#llx: L1 table is not cluster aligned; snapshot table "
                     "entry corrupted",
                     s.info.id.c_str(), s.info.name.c_str(), ull(s.l1_table_offset)));
      ++m_r.corruptions;
      continue;
    }
    if (uint64_t(s.l1_size) * 8 > kMaxL1Bytes) {
      msg(printf_str("ERROR snapshot %s (%s) l1_size=%#x: L1 table is too large; snapshot table entry corrupted",
                     s.info.id.c_str(), s.info.name.c_str(), s.l1_size));
      ++m_r.corruptions;
      continue;
    }
    DK_TRY(walk_l1(s.l1_table_offset, s.l1_size, false, fix, false));
  }
  DK_TRY(inc(h.snapshots_offset, h.nb_snapshots ? q.m_snap_table_bytes : 0));
  DK_TRY(inc(h.refcount_table_offset, q.m_rt.size() * 8));
  DK_TRY(bitmaps());
  return refblocks(fix, rebuild);
}

// The refcount stored for cluster c, as qcow2_get_refcount() sees it: no
// block, or a block past the end of the file (reads as zeroes), gives 0.
Result<uint64_t> Checker::stored_refcount(uint64_t c) {
  Qcow2Layer& q = m_q;
  // Shifts, not divisions: this runs twice per cluster of the file.
  const uint64_t r = c >> m_rb_bits;
  if (r >= q.m_rt.size()) return 0;
  const uint64_t rb = q.m_rt[r] & kRefTableOffsetMask;
  if (rb == 0 || (rb % m_cs == 0 && rb >= q.m_file_size)) return 0;
  if (rb % m_cs) return make_error(EIO, q.m_name + ": refcount block offset unaligned");
  if (r != m_last_rb) {
    CacheEntry* e = DK_TRY(q.rb_load(rb));
    m_last_rb = r;
    m_last_data = e->data.data();
  }
  return refcount_entry(m_last_data, c & (q.m_rb_entries - 1), q.m_refcount_bits);
}

// compare_refcounts().
void Checker::compare(CheckFix fix, bool& rebuild, uint64_t& highest) {
  highest = 0;
  for (uint64_t i = 0; i < m_ref.size(); ++i) {
    auto r1 = stored_refcount(i);
    if (!r1) {
      msg(printf_str("Can't get refcount for cluster %lld: %s", (long long)i, strerror(r1.error().code)));
      ++m_r.check_errors;
      continue;
    }
    const uint64_t rc1 = *r1, rc2 = m_ref[i];
    if (rc1 || rc2) highest = i;
    if (rc1 == rc2) continue;
    uint64_t* fixed = nullptr;
    if (rc1 == 0)
      rebuild = true;
    else if (rc1 > rc2 && (fix & kCheckFixLeaks))
      fixed = &m_r.leaks_fixed;
    else if (rc1 < rc2 && (fix & kCheckFixErrors))
      fixed = &m_r.corruptions_fixed;
    msg(printf_str("%s cluster %lld refcount=%llu reference=%llu",
                   fixed ? "Repairing" : rc1 < rc2 ? "ERROR" : "Leaked", (long long)i, ull(rc1), ull(rc2)));
    m_last_rb = UINT64_MAX;  // set_refcount goes through the cache
    if (fixed && m_q.set_refcount(i, rc2)) {
      ++*fixed;
      continue;
    }
    rc1 < rc2 ? ++m_r.corruptions : ++m_r.leaks;
  }
}

// alloc_clusters_imrt(): n free clusters (in the in-memory array) from
// first_free on, growing the array past the end of the image if needed.
Result<uint64_t> Checker::alloc_imrt(uint64_t n, uint64_t& first_free) {
  uint64_t c = first_free, run = 0;
  bool first_gap = true;
  for (; c < m_ref.size() && run < n; ++c) {
    if (!m_ref[c]) {
      ++run;
      if (first_gap) first_free = c, first_gap = false;
    } else {
      run = 0;
    }
  }
  if (run < n) DK_TRY(grow(c + n - run));
  c -= run;
  for (uint64_t i = 0; i < n; ++i) m_ref[c + i] = 1;
  return c * m_cs;
}

// rebuild_refcounts_write_refblocks(): writes a block (a slice of the
// in-memory array) for every block range of [first, end) holding a nonzero
// count; true when the table `rt` had to grow.
Result<bool> Checker::write_refblocks(uint64_t first, uint64_t end, std::vector<uint64_t>& rt) {
  Qcow2Layer& q = m_q;
  const uint64_t E = q.m_rb_entries;
  uint64_t first_free = 0;
  bool grown = false;
  for (uint64_t c = first; c < end; ++c) {
    if (c >= m_ref.size() || !m_ref[c]) continue;
    const uint64_t r = c / E, start = r * E;
    uint64_t rb_off;
    if (r < rt.size() && rt[r]) {
      rb_off = rt[r];
    } else {
      first_free = std::max(first_free, start);
      rb_off = DK_TRY(alloc_imrt(1, first_free));
      end = std::max(end, rb_off / m_cs + 1);  // the block holding this block's count
      if (r >= rt.size()) {
        rt.resize(align_up((r + 1) * 8, m_cs) / 8, 0);
        grown = true;
      }
      rt[r] = rb_off;
    }
    std::vector<std::byte> blk(m_cs);
    for (uint64_t k = start; k < std::min<uint64_t>(start + E, m_ref.size()); ++k)
      if (m_ref[k]) set_refcount_entry(blk.data(), k - start, q.m_refcount_bits, m_ref[k]);
    DK_TRY(q.io_write(q.m_file, rb_off, blk));
    c = start + E - 1;
  }
  return grown;
}

// rebuild_refcount_structure(): new blocks and table go to clusters no
// reference uses; only the final header write makes them current, so a
// crash before it leaves the old structure in place.
Result<void> Checker::rebuild_structure() {
  Qcow2Layer& q = m_q;
  std::vector<uint64_t> cached;
  q.m_rb_cache.for_each([&](CacheEntry& e) { cached.push_back(e.offset); });
  for (uint64_t off : cached) q.m_rb_cache.erase(off);
  m_last_rb = UINT64_MAX;
  std::vector<uint64_t> rt;
  bool changed = DK_TRY(write_refblocks(0, m_ref.size(), rt));
  uint64_t rt_off = 0, rt_clusters = 0;
  while (changed) {
    rt_clusters = div_round_up(rt.size() * 8, m_cs);
    uint64_t first_free = 0;
    rt_off = DK_TRY(alloc_imrt(rt_clusters, first_free));
    changed = DK_TRY(write_refblocks(rt_off / m_cs, rt_off / m_cs + rt_clusters, rt));
  }
  if (rt_clusters * m_cs > kMaxRefTableBytes)
    return make_error(EFBIG, q.m_name + ": rebuilt refcount table would be too large");
  DK_TRY(q.m_file.flush());
  std::vector<std::byte> buf(rt_clusters * m_cs);
  for (uint64_t i = 0; i < rt.size(); ++i) store_be64(buf.data() + i * 8, rt[i]);
  DK_TRY(q.io_write(q.m_file, rt_off, buf));
  DK_TRY(q.m_file.flush());
  std::byte hdr[12];
  store_be64(hdr, rt_off);
  store_be32(hdr + 8, static_cast<uint32_t>(rt_clusters));
  DK_TRY(q.io_write(q.m_file, 48, hdr));
  DK_TRY(q.m_file.flush());
  q.m_info.h.refcount_table_offset = rt_off;
  q.m_info.h.refcount_table_clusters = static_cast<uint32_t>(rt_clusters);
  rt.resize(rt_clusters * m_cs / 8, 0);
  q.m_rt = std::move(rt);
  q.m_free_cluster_index = 0;
  return {};
}

// check_oflag_copied(): COPIED must be set exactly where the refcount is 1.
Result<void> Checker::oflag_copied(CheckFix fix) {
  Qcow2Layer& q = m_q;
  bool repair = false;
  if (fix & kCheckFixErrors)
    repair = true;
  else if (fix & kCheckFixLeaks)
    repair = !m_r.check_errors && !m_r.corruptions && !m_r.leaks;
  const uint32_t esize = q.m_ext_l2 ? 16 : 8;
  const bool data_file = q.m_data.is_open();
  std::vector<std::byte> t(q.l2_entries() * esize);
  for (uint64_t i = 0; i < q.m_l1.size(); ++i) {
    const uint64_t l1e = q.m_l1[i], l2 = l1e & kL1OffsetMask;
    if (!l2) continue;
    auto rc = stored_refcount(l2 / m_cs);
    if (!rc) continue;
    if ((*rc == 1) != bool(l1e & kOflagCopied)) {
      ++m_r.corruptions;
      msg(printf_str("%s OFLAG_COPIED L2 cluster: l1_index=%d l1_entry=%llx refcount=%llu",
                     repair ? "Repairing" : "ERROR", int(i), ull(l1e), ull(*rc)));
      if (repair) {
        q.m_l1[i] = *rc == 1 ? (l1e | kOflagCopied) : (l1e & ~kOflagCopied);
        std::byte b[8];
        store_be64(b, q.m_l1[i]);
        auto w = q.io_write(q.m_file, q.m_info.h.l1_table_offset + i * 8, b);
        if (!w) {
          ++m_r.check_errors;
          return w;
        }
        --m_r.corruptions;
        ++m_r.corruptions_fixed;
      }
    }
    if (!q.io_read(q.m_file, l2, t)) {
      msg("ERROR: Could not read L2 table: Input/output error");
      ++m_r.check_errors;
      return make_error(EIO, q.m_name + ": reading an L2 table");
    }
    uint64_t dirty = 0;
    for (uint64_t j = 0; j < q.l2_entries(); ++j) {
      const uint64_t e = load_be64(t.data() + j * esize), off = e & kL2OffsetMask;
      if (e & kOflagCompressed) continue;
      const bool zero_plain = (e & kOflagZero) && !q.m_ext_l2 && !off;
      if (zero_plain || !(off || (data_file && (e & kOflagCopied)))) continue;
      uint64_t drc = 1;
      if (!data_file) {
        auto r = stored_refcount(off / m_cs);
        if (!r) continue;
        drc = *r;
      }
      if ((drc == 1) == bool(e & kOflagCopied)) continue;
      ++m_r.corruptions;
      msg(printf_str("%s OFLAG_COPIED data cluster: l2_entry=%llx refcount=%llu", repair ? "Repairing" : "ERROR",
                     ull(e), ull(drc)));
      if (repair) {
        store_be64(t.data() + j * esize, drc == 1 ? (e | kOflagCopied) : (e & ~kOflagCopied));
        ++dirty;
      }
    }
    if (dirty) {
      // Drop a cached copy: the table on disk is now the current one.
      q.m_l2_cache.erase(l2);
      auto w = q.io_write(q.m_file, l2, t);
      if (!w) {
        msg("ERROR: Could not write L2 table: " + std::string(strerror(w.error().code)));
        ++m_r.check_errors;
        return w;
      }
      m_r.corruptions -= dirty;
      m_r.corruptions_fixed += dirty;
    }
  }
  return {};
}

Result<void> Checker::run(CheckFix fix) {
  Qcow2Layer& q = m_q;
  const uint64_t nb = div_round_up(q.m_file_size, m_cs);
  if (nb > kMaxCheckClusters) {
    ++m_r.check_errors;
    return make_error(EFBIG, q.m_name + ": image file too large to check");
  }
  m_ref.assign(nb, 0);
  m_r.total_clusters = div_round_up(q.size(), m_cs);
  bool rebuild = false;
  uint64_t highest = 0;
  DK_TRY(calculate(fix, rebuild));
  const CheckReport pre = m_r;
  compare(kCheckFixNone, rebuild, highest);
  if (rebuild && (fix & kCheckFixErrors)) {
    const CheckReport old = m_r;
    uint64_t fresh_leaks = 0;
    msg("Rebuilding refcount structure");
    auto rb = rebuild_structure();
    if (!rb) {
      msg(rb.error().message);
      ++m_r.check_errors;
      return rb;
    }
    m_r.corruptions = 0;
    m_r.leaks = 0;
    rebuild = false;
    std::fill(m_ref.begin(), m_ref.end(), 0);
    DK_TRY(calculate(kCheckFixNone, rebuild));
    if (fix & kCheckFixLeaks) {
      // The old structure is leaked now: free it. Leaks left over were
      // made by the rebuild itself.
      CheckReport saved = m_r;
      m_r = CheckReport{};
      compare(kCheckFixLeaks, rebuild, highest);
      for (std::string& m : m_r.messages) saved.messages.push_back(std::move(m));
      if (rebuild) saved.messages.push_back("ERROR rebuilt refcount structure is still broken");
      fresh_leaks = m_r.leaks;
      m_r = std::move(saved);
    }
    if (m_r.corruptions < old.corruptions) m_r.corruptions_fixed += old.corruptions - m_r.corruptions;
    if (m_r.leaks < old.leaks) m_r.leaks_fixed += old.leaks - m_r.leaks;
    m_r.leaks += fresh_leaks;
  } else if (fix) {
    if (rebuild) {
      msg("ERROR need to rebuild refcount structures");
      ++m_r.check_errors;
      return make_error(EIO, q.m_name + ": the refcount structure needs a rebuild");
    }
    if (m_r.leaks || m_r.corruptions) {
      std::vector<std::string> msgs = std::move(m_r.messages);
      m_r = pre;
      m_r.messages = std::move(msgs);
      compare(fix, rebuild, highest);
    }
  }
  // Fixed refcounts reach the disk before OFLAG_COPIED is set from them.
  if (fix) DK_TRY(q.sync_all());
  DK_TRY(oflag_copied(fix));
  m_r.image_end_offset = (highest + 1) * m_cs;
  return {};
}

Result<CheckReport> Qcow2Layer::check(CheckFix fix) {
  if (fix && !writable()) return make_error(EROFS, m_name + ": cannot repair an image opened read-only");
  // The check reads the tables from disk: write back what is cached.
  if (writable()) DK_TRY(sync_all());
  CheckReport r;
  Checker c(*this, r);
  auto st = c.run(fix);
  if (!st) r.failed = st.error().code ? st.error().code : EIO;
  if (writable()) {
    // Fixes reach the disk before the report says they were made.
    auto s = sync_all();
    if (!s && !r.failed) r.failed = s.error().code ? s.error().code : EIO;
    if (s && fix && !r.failed && !r.check_errors && !r.corruptions &&
        (m_info.h.incompatible_features & (kIncompatDirty | kIncompatCorrupt))) {
      // qcow2_mark_clean() and qcow2_mark_consistent().
      m_info.h.incompatible_features &= ~(kIncompatDirty | kIncompatCorrupt);
      std::byte b[8];
      store_be64(b, m_info.h.incompatible_features);
      auto w = io_write(m_file, 72, b);
      if (w) w = m_file.flush();
      if (!w) r.failed = w.error().code ? w.error().code : EIO;
      m_marked_dirty = false;
    }
  }
  return r;
}

}  // namespace dk::fmt::qcow2
