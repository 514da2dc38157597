// Metadata caches (L2 tables, refcount blocks), host I/O helpers and the
// ordered write-back that keeps the image consistent after a crash:
// data -> refcount blocks -> L2 tables -> L1 -> deferred frees.
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "formats/core/aligned.h"
#include "formats/core/checked_math.h"
#include "formats/core/endian.h"
#include "formats/qcow2/qcow2.h"

namespace dk::fmt::qcow2 {

CacheEntry* MetaCache::find(uint64_t off) {
  auto it = m_map.find(off);
  if (it == m_map.end()) return nullptr;
  it->second->last_use = ++m_clock;
  return it->second.get();
}

CacheEntry* MetaCache::insert(uint64_t off, std::vector<std::byte> data) {
  auto e = std::make_unique<CacheEntry>();
  e->offset = off;
  e->data = std::move(data);
  e->last_use = ++m_clock;
  CacheEntry* p = e.get();
  m_map[off] = std::move(e);
  return p;
}

CacheEntry* MetaCache::victim(uint64_t keep) {
  CacheEntry* best = nullptr;
  for (auto& [k, e] : m_map)
    if (k != keep && (!best || e->last_use < best->last_use)) best = e.get();
  return best;
}

Result<void> Qcow2Layer::io_read(const File& f, uint64_t off, std::span<std::byte> out) const {
  if (!m_direct) return f.pread_fill(off, out);
  uint64_t start = align_down(off, kDirectAlign);
  uint64_t end = align_up(off + out.size(), kDirectAlign);
  AlignedBuf buf(end - start);
  if (!buf.p) return make_error(ENOMEM, "out of memory");
  DK_TRY(direct_pread(f, start, std::span(buf.p, end - start)));
  std::memcpy(out.data(), buf.p + (off - start), out.size());
  return {};
}

Result<void> Qcow2Layer::io_write(File& f, uint64_t off, std::span<const std::byte> in) {
  m_need_sync = true;
  if (&f == &m_file) m_file_size = std::max<uint64_t>(m_file_size, off + in.size());
  if (!m_direct) return f.pwrite_all(off, in);
  uint64_t start = align_down(off, kDirectAlign);
  uint64_t end = align_up(off + in.size(), kDirectAlign);
  AlignedBuf buf(end - start);
  if (!buf.p) return make_error(ENOMEM, "out of memory");
  if (start != off || end != off + in.size()) DK_TRY(direct_pread(f, start, std::span(buf.p, end - start)));
  std::memcpy(buf.p + (off - start), in.data(), in.size());
  return f.pwrite_all(start, std::span<const std::byte>(buf.p, end - start));
}

Result<CacheEntry*> Qcow2Layer::l2_load(uint64_t off, bool for_write) {
  if (CacheEntry* e = m_l2_cache.find(off)) return e;
  if (off % m_cs)
    return make_error(EIO, m_name + ": L2 table offset " + hex(off) + " unaligned (image is corrupt)");
  if (off >= m_file_size)
    return make_error(EIO, m_name + ": L2 table offset " + hex(off) + " is beyond the end of the file");
  // The victim's buffer is reused: freeing and allocating a table per miss
  // makes malloc hand pages back and fault them in again on a long scan.
  std::vector<std::byte> data;
  if (m_l2_cache.full()) {
    CacheEntry* v = m_l2_cache.victim(UINT64_MAX);
    if (v->dirty) DK_TRY(l2_writeback(*v));
    data = std::move(v->data);
    m_l2_cache.erase(v->offset);
  }
  data.resize(m_cs);
  DK_TRY(io_read(m_file, off, data));
  return m_l2_cache.insert(off, std::move(data));
}

Result<CacheEntry*> Qcow2Layer::rb_load(uint64_t off) {
  if (CacheEntry* e = m_rb_cache.find(off)) return e;
  if (off % m_cs)
    return make_error(EIO, m_name + ": refcount block offset " + hex(off) + " unaligned (image is corrupt)");
  if (off >= m_file_size)
    return make_error(EIO, m_name + ": refcount block offset " + hex(off) + " is beyond the end of the file");
  std::vector<std::byte> data;
  if (m_rb_cache.full()) {
    CacheEntry* v = m_rb_cache.victim(UINT64_MAX);
    if (v->dirty) {
      // A refcount block may only reach the disk after the data it covers.
      DK_TRY(io_write(m_file, v->offset, v->data));
      v->dirty = false;
    }
    data = std::move(v->data);
    m_rb_cache.erase(v->offset);
  }
  data.resize(m_cs);
  DK_TRY(io_read(m_file, off, data));
  return m_rb_cache.insert(off, std::move(data));
}

// Writes a cache's dirty entries back in offset order (sequential I/O).
Result<void> Qcow2Layer::write_back_dirty(MetaCache& cache) {
  std::vector<CacheEntry*> dirty;
  cache.for_each([&](CacheEntry& e) {
    if (e.dirty) dirty.push_back(&e);
  });
  std::sort(dirty.begin(), dirty.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
  for (CacheEntry* e : dirty) {
    DK_TRY(io_write(m_file, e->offset, e->data));
    e->dirty = false;
  }
  return {};
}

Result<void> Qcow2Layer::flush_refcount_blocks() { return write_back_dirty(m_rb_cache); }

Result<void> Qcow2Layer::l2_writeback(CacheEntry& e) {
  // Everything an L2 entry may point at (data, refcounts) goes first.
  DK_TRY(flush_refcount_blocks());
  if (m_need_sync) {
    if (m_data.is_open()) DK_TRY(m_data.flush());
    DK_TRY(m_file.flush());
    m_need_sync = false;
  }
  DK_TRY(io_write(m_file, e.offset, e.data));
  e.dirty = false;
  return {};
}

Result<void> Qcow2Layer::flush_l2_tables() { return write_back_dirty(m_l2_cache); }

Result<void> Qcow2Layer::write_l1() {
  std::vector<std::byte> buf(m_l1.size() * 8);
  for (size_t i = 0; i < m_l1.size(); ++i) store_be64(buf.data() + i * 8, m_l1[i]);
  DK_TRY(io_write(m_file, m_info.h.l1_table_offset, buf));
  m_l1_dirty = false;
  return {};
}

Result<void> Qcow2Layer::sync_all() {
  auto barrier = [&]() -> Result<void> {
    if (!m_need_sync) return {};
    if (m_data.is_open()) DK_TRY(m_data.flush());
    DK_TRY(m_file.flush());
    m_need_sync = false;
    return {};
  };
  DK_TRY(flush_refcount_blocks());
  DK_TRY(barrier());
  DK_TRY(flush_l2_tables());
  DK_TRY(barrier());
  if (m_l1_dirty) {
    DK_TRY(write_l1());
    DK_TRY(barrier());
  }
  if (!m_pending_free.empty()) {
    DK_TRY(apply_pending_frees());
    DK_TRY(flush_refcount_blocks());
  }
  DK_TRY(barrier());
  return {};
}

Result<void> Qcow2Layer::do_flush() { return sync_all(); }

}  // namespace dk::fmt::qcow2
