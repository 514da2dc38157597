// QedLayer: opening, table lookup and caching, reads, block status, flush,
// resize and backing-file changes. Allocating writes are in write.cc.
#include "formats/qed/layer.h"

#include "formats/core/aligned.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "formats/core/checked_math.h"
#include "formats/core/endian.h"
#include "formats/core/lock.h"

namespace dk::fmt::qed {

namespace {

// Memory for cached L2 tables (at least two tables are always kept).
constexpr uint64_t kCacheBytes = 32u << 20;

std::string hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

uint32_t log2u(uint64_t v) { return static_cast<uint32_t>(__builtin_ctzll(v)); }


}  // namespace

QedLayer::QedLayer(File f, bool writable, const Header& h, std::string backing_name)
    : Layer(f.path(), writable), m_file(std::move(f)), m_header(h), m_backing_name(std::move(backing_name)) {
  m_geo.cluster_size = h.cluster_size;
  m_geo.table_clusters = h.table_size;
  m_geo.header_bytes = uint64_t{h.header_size} * h.cluster_size;
  m_l2_shift = log2u(h.cluster_size);
  m_l1_shift = m_l2_shift + log2u(m_geo.table_entries());
  m_cache_max = std::max<uint64_t>(2, kCacheBytes / m_geo.table_bytes());
}

QedLayer::~QedLayer() {
  // A clean close: tables written back, need-check cleared. Errors cannot be
  // reported from here; callers that care flush first.
  if (writable()) (void)do_flush();
}

Result<void> QedLayer::load() {
  uint64_t fsize = DK_TRY(m_file.size());
  m_geo.file_end = align_down(fsize, m_geo.cluster_size);
  m_l1 = DK_TRY(read_table(m_header.l1_table_offset));
  return {};
}

Result<void> QedLayer::io_read(uint64_t off, std::span<std::byte> out) const {
  if (!m_direct) return m_file.pread_fill(off, out);
  const uint64_t start = align_down(off, kDirectAlign);
  const uint64_t end = align_up(off + out.size(), kDirectAlign);
  AlignedBuf buf(end - start);
  if (!buf.p) return make_error(ENOMEM, err_prefix() + "out of memory");
  DK_TRY(direct_pread(m_file, start, std::span(buf.p, end - start)));
  std::memcpy(out.data(), buf.p + (off - start), out.size());
  return {};
}

Result<void> QedLayer::io_write(uint64_t off, std::span<const std::byte> in) {
  if (!m_direct) return m_file.pwrite_all(off, in);
  // Bounded bounce: at most 8 MiB at a time.
  constexpr size_t kChunk = 8u << 20;
  while (!in.empty()) {
    const size_t n = std::min(in.size(), kChunk);
    const uint64_t start = align_down(off, kDirectAlign);
    const uint64_t end = align_up(off + n, kDirectAlign);
    AlignedBuf buf(end - start);
    if (!buf.p) return make_error(ENOMEM, err_prefix() + "out of memory");
    if (start != off || end != off + n) DK_TRY(direct_pread(m_file, start, std::span(buf.p, end - start)));
    std::memcpy(buf.p + (off - start), in.data(), n);
    DK_TRY(m_file.pwrite_all(start, std::span<const std::byte>(buf.p, end - start)));
    off += n;
    in = in.subspan(n);
  }
  return {};
}

Result<std::vector<uint64_t>> QedLayer::read_table(uint64_t off) const {
  std::vector<uint64_t> t(m_geo.table_entries());
  DK_TRY(io_read(off, std::as_writable_bytes(std::span(t))));
  for (uint64_t& e : t) e = load_le64(&e);
  return t;
}

Result<void> QedLayer::write_header() {
  std::array<std::byte, kHeaderBytes> buf;
  encode_header(m_header, buf);
  return io_write(0, buf);
}

Result<void> QedLayer::clear_autoclear() {
  if (!(m_header.autoclear_features & ~kAutoclearFeatureMask)) return {};
  m_header.autoclear_features &= kAutoclearFeatureMask;
  DK_TRY(write_header());
  return m_file.flush();
}

uint64_t QedLayer::alloc_clusters(uint64_t n) {
  uint64_t off = m_geo.file_end;
  m_geo.file_end += n * m_geo.cluster_size;
  return off;
}

void QedLayer::mark_dirty(L2Table& t, uint64_t lo, uint64_t hi) {
  if (t.dirty_lo == t.dirty_hi) {
    t.dirty_lo = static_cast<uint32_t>(lo);
    t.dirty_hi = static_cast<uint32_t>(hi);
  } else {
    t.dirty_lo = std::min<uint32_t>(t.dirty_lo, static_cast<uint32_t>(lo));
    t.dirty_hi = std::max<uint32_t>(t.dirty_hi, static_cast<uint32_t>(hi));
  }
  m_tables_dirty = true;
}

Result<void> QedLayer::writeback_tables() {
  if (!m_tables_dirty) return {};
  // Data first: entries must never reach the disk before what they point at.
  DK_TRY(m_file.flush());
  bool fresh = false;
  for (auto& [offset, t] : m_cache) {
    // A new table is written whole: its unwritten rest must not be a hole
    // at the end of the file (the file would end inside the table).
    if (t.fresh) {
      t.dirty_lo = 0;
      t.dirty_hi = static_cast<uint32_t>(t.entries.size());
    }
    if (t.dirty_lo == t.dirty_hi) continue;
    std::vector<uint64_t> le(t.entries.begin() + t.dirty_lo, t.entries.begin() + t.dirty_hi);
    for (uint64_t& e : le) store_le64(&e, e);
    DK_TRY(io_write(t.offset + uint64_t{t.dirty_lo} * 8, std::as_bytes(std::span(le))));
    fresh = fresh || t.fresh;
    t.fresh = false;
    t.dirty_lo = t.dirty_hi = 0;
  }
  if (m_l1_dirty_lo != m_l1_dirty_hi) {
    // New L2 tables must be stable before the L1 entries naming them.
    if (fresh) DK_TRY(m_file.flush());
    std::vector<uint64_t> le(m_l1.begin() + m_l1_dirty_lo, m_l1.begin() + m_l1_dirty_hi);
    for (uint64_t& e : le) store_le64(&e, e);
    DK_TRY(io_write(m_header.l1_table_offset + m_l1_dirty_lo * 8, std::as_bytes(std::span(le))));
    m_l1_dirty_lo = m_l1_dirty_hi = 0;
  }
  m_tables_dirty = false;
  return {};
}

Result<void> QedLayer::evict_one() {
  auto victim = m_cache.end();
  for (auto it = m_cache.begin(); it != m_cache.end(); ++it)
    if (victim == m_cache.end() || it->second.last_use < victim->second.last_use) victim = it;
  if (victim == m_cache.end()) return {};
  if (victim->second.dirty_lo != victim->second.dirty_hi || victim->second.fresh) DK_TRY(writeback_tables());
  m_cache.erase(victim);
  return {};
}

Result<QedLayer::L2Table*> QedLayer::get_l2(uint64_t l1_index, bool create) {
  // Keyed by table offset: a (corrupt) L1 naming one table twice still
  // has one copy of it in memory.
  const uint64_t l2_off = m_l1[l1_index];
  if (auto it = m_cache.find(l2_off); l2_off && it != m_cache.end()) {
    it->second.last_use = ++m_use_clock;
    return &it->second;
  }
  if (l2_off == 0 && !create) return nullptr;
  while (m_cache.size() >= m_cache_max) DK_TRY(evict_one());
  L2Table t;
  t.last_use = ++m_use_clock;
  if (l2_off == 0) {
    t.entries.assign(m_geo.table_entries(), 0);
    t.offset = alloc_clusters(m_geo.table_clusters);
    t.fresh = true;
    m_l1[l1_index] = t.offset;
    if (m_l1_dirty_lo == m_l1_dirty_hi) {
      m_l1_dirty_lo = l1_index;
      m_l1_dirty_hi = l1_index + 1;
    } else {
      m_l1_dirty_lo = std::min(m_l1_dirty_lo, l1_index);
      m_l1_dirty_hi = std::max(m_l1_dirty_hi, l1_index + 1);
    }
    m_tables_dirty = true;
  } else {
    if (!m_geo.table_offset_valid(l2_off))
      return make_error(EIO, err_prefix() + "L1 entry " + std::to_string(l1_index) + " points at an invalid L2 table offset " +
                                 hex(l2_off));
    t.offset = l2_off;
    t.entries = DK_TRY(read_table(l2_off));
  }
  const uint64_t key = t.offset;
  auto [it, ok] = m_cache.emplace(key, std::move(t));
  (void)ok;
  return &it->second;
}

Result<QedLayer::Run> QedLayer::find(uint64_t off, uint64_t len) {
  const uint64_t cs = m_geo.cluster_size;
  const uint64_t l1_index = off >> m_l1_shift;
  const uint64_t span_end = (l1_index + 1) << m_l1_shift;
  len = std::min(len, span_end - off);
  Run run;
  if (l1_index >= m_l1.size()) return make_error(EIO, err_prefix() + "offset beyond the L1 table");
  L2Table* t = DK_TRY(get_l2(l1_index, false));
  if (!t) {
    run.length = len;
    return run;
  }
  const uint64_t in_cluster = off & (cs - 1);
  const uint64_t idx = (off >> m_l2_shift) & (m_geo.table_entries() - 1);
  const uint64_t n = div_round_up(in_cluster + len, cs);
  const uint64_t first = t->entries[idx];
  uint64_t count = 1;
  if (first == 0 || first == kZeroCluster) {
    run.kind = first == 0 ? Kind::kUnallocated : Kind::kZero;
    while (count < n && t->entries[idx + count] == first) count++;
  } else {
    if (!m_geo.cluster_offset_valid(first))
      return make_error(EIO, err_prefix() + "L2 entry for guest offset " + hex(off - in_cluster) +
                                 " points at an invalid cluster offset " + hex(first) +
                                 " (unaligned, in the header or beyond the end of the file)");
    run.kind = Kind::kData;
    run.host = first + in_cluster;
    while (count < n && t->entries[idx + count] == first + count * cs &&
           m_geo.cluster_offset_valid(t->entries[idx + count]))
      count++;
  }
  run.length = std::min(len, count * cs - in_cluster);
  return run;
}

Result<void> QedLayer::do_read(uint64_t off, std::span<std::byte> out) {
  while (!out.empty()) {
    Run r = DK_TRY(find(off, out.size()));
    auto part = out.first(r.length);
    switch (r.kind) {
      case Kind::kData: DK_TRY(io_read(r.host, part)); break;
      case Kind::kZero: std::memset(part.data(), 0, part.size()); break;
      case Kind::kUnallocated: DK_TRY(read_below(off, part)); break;
    }
    off += r.length;
    out = out.subspan(r.length);
  }
  return {};
}

Result<Extent> QedLayer::do_block_status(uint64_t off, uint64_t len) {
  Run r = DK_TRY(find(off, len));
  Extent e;
  e.length = r.length;
  if (r.kind == Kind::kData) {
    e.flags = kStatusData | kStatusOffsetValid;
    e.offset = r.host;
    e.file = filename();
  } else if (r.kind == Kind::kZero) {
    e.flags = kStatusZero;
  }
  return e;
}

Result<void> QedLayer::do_flush() {
  DK_TRY(writeback_tables());
  DK_TRY(m_file.flush());
  if (m_header.features & kFeatureNeedCheck) {
    m_header.features &= ~kFeatureNeedCheck;
    DK_TRY(write_header());
    DK_TRY(m_file.flush());
  }
  return {};
}

Result<void> QedLayer::ensure_need_check() {
  if (m_header.features & kFeatureNeedCheck) return {};
  m_header.features |= kFeatureNeedCheck;
  DK_TRY(write_header());
  return m_file.flush();
}

Result<void> QedLayer::do_truncate(uint64_t new_size, bool) {
  if (!image_size_valid(new_size, m_geo.cluster_size, m_geo.table_clusters))
    return make_error(EINVAL, "Invalid image size specified");
  if (new_size < m_header.image_size)
    return make_error(ENOTSUP, "Shrinking images is currently not supported");
  const uint64_t old = m_header.image_size;
  m_header.image_size = new_size;
  auto r = write_header();
  if (r) r = m_file.flush();
  if (!r) {
    m_header.image_size = old;
    return make_error(r.error().with_context("Failed to update the image size"));
  }
  return {};
}

Result<void> QedLayer::set_backing_file(const std::string& name, const std::string& fmt) {
  if (!writable()) return make_error(EROFS, "image '" + filename() + "' is opened read-only");
  if (!name.empty() && (m_header.compat_features & ~kCompatFeatureMask))
    return make_error(ENOTSUP, err_prefix() + "cannot change the backing file of an image with unknown compat features");
  Header h = m_header;
  h.features &= ~(kFeatureBackingFile | kFeatureBackingFormatNoProbe);
  if (!name.empty()) {
    h.features |= kFeatureBackingFile;
    if (fmt == "raw") h.features |= kFeatureBackingFormatNoProbe;
  }
  h.backing_filename_offset = kHeaderBytes;
  h.backing_filename_size = static_cast<uint32_t>(name.size());
  if (kHeaderBytes + name.size() > m_geo.header_bytes || name.size() > kMaxBackingNameBytes)
    return make_error(ENOSPC, err_prefix() + "the backing file name does not fit in the QED header");
  std::vector<std::byte> buf(kHeaderBytes + name.size());
  encode_header(h, std::span<std::byte, kHeaderBytes>(buf.data(), kHeaderBytes));
  std::memcpy(buf.data() + kHeaderBytes, name.data(), name.size());
  DK_TRY(io_write(0, buf));
  DK_TRY(m_file.flush());
  m_header = h;
  m_backing_name = name;
  return {};
}

Result<std::unique_ptr<Layer>> open_qed(const std::string& path, const OpenOptions& opts) {
  if (opts.snapshot)
    return make_error(ENOTSUP, "'" + path + "': format 'qed' does not support internal snapshots");
  if (opts.force_share && opts.writable)
    return make_error(EINVAL, "'" + path + "': force-share (-U) can only be used with read-only images");
  int flags = opts.writable ? O_RDWR : O_RDONLY;
  if (opts.sync_writes) flags |= O_DSYNC;
  if (opts.direct) flags |= O_DIRECT;
  File f = DK_TRY(File::open(path, flags));
  f.set_flush_enabled(!opts.no_flush);
  DK_TRY(lock_image(f, opts.writable ? LockMode::kWrite : LockMode::kRead, opts.force_share));
  const uint64_t fsize = DK_TRY(f.size());
  std::array<std::byte, kHeaderBytes> raw{};
  if (fsize < kHeaderBytes) return make_error(EINVAL, "'" + path + "': Image not in QED format (file too short)");
  {
    // The header is read before the layer exists: bounce it here.
    AlignedBuf head(kDirectAlign);
    if (!head.p) return make_error(ENOMEM, "out of memory");
    DK_TRY(direct_pread(f, 0, std::span(head.p, kDirectAlign)));
    std::memcpy(raw.data(), head.p, kHeaderBytes);
  }
  const Header h = decode_header(raw);
  DK_TRY(validate_header(h, fsize, path));
  std::string backing;
  if (h.features & kFeatureBackingFile) {
    // Inside the header clusters (validated), which the file holds whole.
    const uint64_t start = align_down(h.backing_filename_offset, kDirectAlign);
    const uint64_t end = align_up(uint64_t{h.backing_filename_offset} + h.backing_filename_size, kDirectAlign);
    AlignedBuf buf(end - start);
    if (!buf.p) return make_error(ENOMEM, "out of memory");
    DK_TRY(direct_pread(f, start, std::span(buf.p, end - start)));
    backing.assign(reinterpret_cast<const char*>(buf.p + (h.backing_filename_offset - start)),
                   h.backing_filename_size);
    // QEMU treats the name as a C string.
    backing.resize(std::strlen(backing.c_str()));
  }
  auto layer = std::make_unique<QedLayer>(std::move(f), opts.writable, h, std::move(backing));
  layer->set_direct(opts.direct);
  DK_TRY(layer->load());
  if (opts.writable) {
    DK_TRY(layer->clear_autoclear());
    // Not closed cleanly: validate the tables (fixing bad entries) and clear
    // the flag. Read-only opens just read, as QEMU does.
    // Not when opened by `check` (QEMU's BDRV_O_CHECK): it scans itself.
    const auto chk = opts.extra.find("check");
    if (layer->need_check() && (chk == opts.extra.end() || chk->second != "on")) DK_TRY(layer->check(true));
  }
  return std::unique_ptr<Layer>(std::move(layer));
}

}  // namespace dk::fmt::qed
