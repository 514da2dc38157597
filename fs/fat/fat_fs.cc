// FAT: opening, statvfs, flushing in crash-safe order, cluster chains,
// directory and data I/O, and the registry of shared per-file nodes.
#include <sys/statvfs.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "formats/core/checked_math.h"
#include "formats/core/endian.h"
#include "fs/fat/fat_internal.h"

namespace dk::fs {
namespace fat {

FatFs::FatFs(std::unique_ptr<fmt::Layer> dev, const Geometry& g, bool writable, std::string name,
             std::function<void(const std::string&)> warn)
    : m_dev(std::move(dev)), m_g(g), m_writable(writable), m_name(std::move(name)), m_warn(std::move(warn)),
      m_table(*m_dev, m_g, m_name) {
  m_root = std::make_shared<Node>();
  m_root->root = true;
  m_root->ino = kRootIno;
  m_root->name = "/";
}

FatFs::~FatFs() {
  if (m_writable) (void)flush();
}

tl::unexpected<Error> FatFs::corrupt(const std::string& what) const {
  return make_error(EIO, "'" + m_name + "': corrupt FAT file system: " + what);
}

Result<void> FatFs::require_writable() {
  if (!m_writable) return make_error(EROFS, "'" + m_name + "': " + std::strerror(EROFS));
  return {};
}

std::string FatFs::uuid() const {
  if (!m_g.has_serial) return {};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04X-%04X", m_g.serial >> 16, m_g.serial & 0xffff);
  return buf;
}

Result<InodePtr> FatFs::root() { return inode(m_root); }

InodePtr FatFs::inode(std::shared_ptr<Node> n) { return std::make_shared<FatInode>(*this, std::move(n)); }

// Linux's fat_statfs: clusters as blocks, free clusters counted from the FAT.
Result<StatVfs> FatFs::statvfs() {
  StatVfs v;
  v.bsize = v.frsize = m_g.cluster_size;
  v.blocks = m_g.cluster_count;
  v.bfree = v.bavail = DK_TRY(free_count());
  v.fsid = m_g.serial;
  v.flag = m_writable ? 0 : ST_RDONLY;
  v.namemax = kMaxLfnUnits;
  return v;
}

Result<uint64_t> FatFs::free_count() {
  if (!m_free) {
    uint64_t n = 0;
    for (uint32_t c = kFirstCluster; c < m_g.cluster_count + kFirstCluster; ++c)
      if (DK_TRY(m_table.get(c)) == 0) ++n;
    m_free = n;
  }
  return *m_free;
}

// ---- Flushing ----

Result<void> FatFs::flush() {
  if (!m_writable) return {};
  DK_TRY(commit());
  auto r = m_dev->flush();
  if (!r) return make_error(r.error().with_context("'" + m_name + "'"));
  return {};
}

Result<void> FatFs::maybe_commit() {
  if (m_table.dirty_bytes() + m_dirty_sectors.size() * m_g.bytes_per_sector > (8u << 20)) return commit();
  return {};
}

// Data is already on the device; then the FAT copies, then the directory
// entries and FSInfo, each stage made stable before the next starts.
Result<void> FatFs::commit() {
  if (!m_table.dirty() && m_dirty_sectors.empty() && !m_fsinfo_dirty) return {};
  auto ctx = [&](Result<void> r, const char* what) -> Result<void> {
    if (!r) return make_error(r.error().with_context("'" + m_name + "': " + what));
    return {};
  };
  DK_TRY(ctx(m_dev->flush(), "flushing file data"));
  if (m_table.dirty()) {
    DK_TRY(m_table.commit());
    DK_TRY(ctx(m_dev->flush(), "flushing the FAT"));
  }
  for (auto& [off, sector] : m_dirty_sectors)
    DK_TRY(ctx(m_dev->write(off, std::as_bytes(std::span(sector))), "writing a directory"));
  if (m_fsinfo_dirty) DK_TRY(write_fsinfo());
  DK_TRY(ctx(m_dev->flush(), "flushing directories"));
  m_dirty_sectors.clear();
  m_pending_free.clear();
  m_any_pending = false;
  m_fsinfo_dirty = false;
  return {};
}

// FSInfo's hints (free count, last allocated cluster), as Linux keeps them.
Result<void> FatFs::write_fsinfo() {
  if (!m_g.fat32() || m_g.fsinfo_sector == 0) return {};
  uint64_t off = uint64_t{m_g.fsinfo_sector} * m_g.bytes_per_sector;
  std::vector<uint8_t> s(512);
  if (!range_within(off, s.size(), m_dev->size())) return {};
  DK_TRY(m_dev->read(off, std::as_writable_bytes(std::span(s))));
  if (load_le32(&s[0]) != 0x41615252 || load_le32(&s[484]) != 0x61417272) return {};
  store_le32(&s[488], static_cast<uint32_t>(DK_TRY(free_count())));
  store_le32(&s[492], m_next_free);
  auto r = m_dev->write(off, std::as_bytes(std::span(s)));
  if (!r) return make_error(r.error().with_context("'" + m_name + "': writing FSInfo"));
  return {};
}

// ---- Chains ----

Result<std::vector<uint32_t>> FatFs::chain_of(uint32_t first, uint64_t max_clusters, bool stop_short,
                                              const std::string& what) {
  std::vector<uint32_t> chain;
  if (max_clusters == 0) return chain;
  if (!m_g.valid_cluster(first))
    return corrupt(what + " starts at cluster " + std::to_string(first) + ", which is out of range");
  // Brent's cycle detection: O(1) memory, finds a loop within twice its length.
  uint32_t tortoise = first, power = 1, lam = 0;
  uint32_t c = first;
  for (;;) {
    chain.push_back(c);
    if (chain.size() == max_clusters) return chain;
    uint32_t next = DK_TRY(m_table.get(c));
    if (next >= m_g.end_of_chain()) break;
    if (next == 0)
      return corrupt("the cluster chain of " + what + " runs into free cluster " + std::to_string(c));
    if (!m_g.valid_cluster(next))
      return corrupt("the cluster chain of " + what + " points to cluster " + std::to_string(next) +
                     ", which is out of range");
    if (next == tortoise) return corrupt("the cluster chain of " + what + " loops (at cluster " + std::to_string(next) + ")");
    if (++lam == power) {
      tortoise = next;
      power *= 2;
      lam = 0;
    }
    c = next;
  }
  if (!stop_short)
    return corrupt(what + " is larger than its cluster chain (" + std::to_string(chain.size()) + " clusters)");
  return chain;
}

uint32_t FatFs::dir_id(const Node& n) const {
  if (n.root) return 0;
  uint32_t c = n.raw.first_cluster(m_g.fat32());
  return m_g.fat32() && c == m_g.root_cluster ? 0 : c;
}

Result<void> FatFs::read_meta(uint64_t off, std::span<uint8_t> out) {
  if (!range_within(off, out.size(), m_dev->size()))
    return corrupt("metadata at offset " + std::to_string(off) + " lies beyond the end of the device");
  auto r = m_dev->read(off, std::as_writable_bytes(out));
  if (!r) return make_error(r.error().with_context("'" + m_name + "'"));
  const uint64_t bps = m_g.bytes_per_sector;
  for (auto it = m_dirty_sectors.lower_bound(align_down(off, bps));
       it != m_dirty_sectors.end() && it->first < off + out.size(); ++it) {
    uint64_t a = std::max(off, it->first), b = std::min(off + out.size(), it->first + bps);
    if (a < b) std::memcpy(out.data() + (a - off), it->second.data() + (a - it->first), b - a);
  }
  return {};
}

Result<void> FatFs::write_entry(uint64_t off, const RawEntry& e) {
  DK_TRY(require_writable());
  const uint64_t bps = m_g.bytes_per_sector;
  uint64_t sector = align_down(off, bps);
  auto it = m_dirty_sectors.find(sector);
  if (it == m_dirty_sectors.end()) {
    std::vector<uint8_t> s(bps);
    DK_TRY(read_meta(sector, s));
    it = m_dirty_sectors.emplace(sector, std::move(s)).first;
  }
  std::memcpy(it->second.data() + (off - sector), e.b.data(), kEntrySize);
  changed();
  return {};
}

Result<DirView> FatFs::load_dir(uint32_t cluster, const std::string& what) {
  DirView d;
  d.cluster = cluster;
  if (cluster == 0 && !m_g.fat32()) {
    d.bytes.resize(uint64_t{m_g.root_entries} * kEntrySize);
    d.extents = {m_g.root_offset};
    d.extent_size = d.bytes.size();
    DK_TRY(read_meta(m_g.root_offset, d.bytes));
    return d;
  }
  uint32_t first = cluster == 0 ? m_g.root_cluster : cluster;
  uint64_t max = std::max<uint64_t>(1, kMaxDirBytes / m_g.cluster_size);
  d.chain = DK_TRY(chain_of(first, max + 1, true, what));
  if (d.chain.size() > max) return corrupt(what + " is larger than FAT's limit of 65536 entries");
  d.extent_size = m_g.cluster_size;
  d.bytes.resize(d.chain.size() * uint64_t{m_g.cluster_size});
  for (size_t i = 0; i < d.chain.size(); ++i) {
    d.extents.push_back(m_g.cluster_offset(d.chain[i]));
    DK_TRY(read_meta(d.extents.back(), std::span(d.bytes).subspan(i * m_g.cluster_size, m_g.cluster_size)));
  }
  return d;
}

// Runs of consecutive clusters are read or written with one request each.
template <class Span, class Fn>
static Result<void> for_runs(const FatFs& fs, const std::vector<uint32_t>& chain, uint64_t off, Span buf, Fn&& fn) {
  const Geometry& g = fs.geo();
  const uint64_t cs = g.cluster_size;
  size_t done = 0;
  while (done < buf.size()) {
    uint64_t pos = off + done;
    uint64_t idx = pos / cs;
    if (idx >= chain.size()) return fs.corrupt("read past the end of a cluster chain");
    uint64_t run_end = idx + 1;
    while (run_end < chain.size() && chain[run_end] == chain[run_end - 1] + 1 && (run_end - idx) * cs < (16u << 20))
      ++run_end;
    uint64_t len = std::min<uint64_t>(buf.size() - done, run_end * cs - pos);
    uint64_t dev_off = g.cluster_offset(chain[idx]) + pos % cs;
    if (!range_within(dev_off, len, const_cast<FatFs&>(fs).device().size()))
      return fs.corrupt("cluster " + std::to_string(chain[idx]) + " lies beyond the end of the device");
    DK_TRY(fn(dev_off, buf.subspan(done, len)));
    done += len;
  }
  return {};
}

Result<void> FatFs::read_chain(const std::vector<uint32_t>& chain, uint64_t off, std::span<std::byte> out) {
  return for_runs(*this, chain, off, out, [&](uint64_t dev_off, std::span<std::byte> part) -> Result<void> {
    auto r = m_dev->read(dev_off, part);
    if (!r) return make_error(r.error().with_context("'" + m_name + "'"));
    return {};
  });
}

Result<void> FatFs::write_chain(const std::vector<uint32_t>& chain, uint64_t off, std::span<const std::byte> in) {
  DK_TRY(require_writable());
  return for_runs(*this, chain, off, in, [&](uint64_t dev_off, std::span<const std::byte> part) -> Result<void> {
    auto r = m_dev->write(dev_off, part);
    if (!r) return make_error(r.error().with_context("'" + m_name + "'"));
    return {};
  });
}

Result<void> FatFs::zero_chain(const std::vector<uint32_t>& chain, uint64_t from, uint64_t to) {
  DK_TRY(require_writable());
  const uint64_t cs = m_g.cluster_size;
  while (from < to) {
    uint64_t idx = from / cs;
    if (idx >= chain.size()) return corrupt("write past the end of a cluster chain");
    uint64_t run_end = idx + 1;
    while (run_end < chain.size() && chain[run_end] == chain[run_end - 1] + 1) ++run_end;
    uint64_t len = std::min(to - from, run_end * cs - from);
    uint64_t dev_off = m_g.cluster_offset(chain[idx]) + from % cs;
    if (!range_within(dev_off, len, m_dev->size()))
      return corrupt("cluster " + std::to_string(chain[idx]) + " lies beyond the end of the device");
    auto r = m_dev->write_zeroes(dev_off, len);
    if (!r) return make_error(r.error().with_context("'" + m_name + "'"));
    from += len;
  }
  return {};
}

Result<void> FatFs::zero_clusters(const std::vector<uint32_t>& clusters) {
  DK_TRY(require_writable());
  for (uint32_t c : clusters) {
    uint64_t off = m_g.cluster_offset(c);
    if (!range_within(off, m_g.cluster_size, m_dev->size()))
      return corrupt("cluster " + std::to_string(c) + " lies beyond the end of the device");
    auto r = m_dev->write_zeroes(off, m_g.cluster_size);
    if (!r) return make_error(r.error().with_context("'" + m_name + "'"));
  }
  changed();
  return {};
}

// ---- Nodes ----

std::shared_ptr<Node> FatFs::node_for(const Parsed& p, const DirView& dir) {
  return node_at(dir.entry_offset(p.short_slot), p.raw, dir.cluster, p.name);
}

std::shared_ptr<Node> FatFs::node_at(uint64_t off, const RawEntry& raw, uint32_t parent, const std::string& name) {
  auto it = m_nodes.find(off);
  if (it != m_nodes.end()) {
    if (auto n = it->second.lock(); n && !n->removed) return n;
  }
  auto n = std::make_shared<Node>();
  n->entry_off = off;
  n->parent_cluster = parent;
  n->raw = raw;
  n->name = name;
  // Directories are numbered by their first cluster, so the walk's cycle
  // check sees a directory reached twice; files by their entry's position.
  if (raw.is_dir()) {
    uint32_t c = dir_id(*n);
    n->ino = c == 0 ? kRootIno : c;
  } else {
    n->ino = (uint64_t{1} << 32) + off / kEntrySize;
  }
  m_nodes[off] = n;
  if (m_nodes.size() >= m_nodes_sweep) {
    std::erase_if(m_nodes, [](const auto& kv) { return kv.second.expired(); });
    m_nodes_sweep = std::max<size_t>(64, m_nodes.size() * 2);
  }
  return n;
}

void FatFs::rekey(Node& n, uint64_t new_off) {
  auto it = m_nodes.find(n.entry_off);
  std::weak_ptr<Node> w;
  if (it != m_nodes.end()) {
    w = it->second;
    m_nodes.erase(it);
  }
  n.entry_off = new_off;
  if (!w.expired()) m_nodes[new_off] = w;
}

Result<std::vector<uint32_t>*> FatFs::file_chain(Node& n) {
  if (!n.chain_ok) {
    uint64_t need = div_round_up(n.raw.DIR_FileSize(), m_g.cluster_size);
    n.chain = DK_TRY(chain_of(n.raw.first_cluster(m_g.fat32()), need, false, "'" + n.name + "'"));
    n.chain_ok = true;
  }
  return &n.chain;
}

bool FatFs::pending_free(uint32_t c) const {
  return m_any_pending && (m_pending_free[c / 64] >> (c % 64) & 1);
}

}  // namespace fat

Result<std::unique_ptr<FileSystem>> open_fat(std::unique_ptr<fmt::Layer> dev, const FatOpenOptions& opts) {
  const std::string name = opts.device_name.empty() ? dev->filename() : opts.device_name;
  if (opts.writable && !dev->writable()) return make_error(EROFS, "'" + name + "': the disk is read-only");
  if (dev->size() < 512) return make_error(EINVAL, "'" + name + "': too small for a FAT file system");
  std::vector<uint8_t> boot(512);
  DK_TRY_CTX(dev->read(0, std::as_writable_bytes(std::span(boot))), "'" + name + "'");
  fat::Geometry g = DK_TRY(fat::parse_boot_sector(boot, dev->size(), name));
  auto warn = opts.warn;
  if (!warn) warn = [](const std::string& w) { std::fprintf(stderr, "diskit: warning: %s\n", w.c_str()); };
  auto fs = std::make_unique<fat::FatFs>(std::move(dev), g, opts.writable, name, warn);
  // blkid's LABEL is the root directory's volume-label entry only.
  auto root = fs->load_dir(0, "the root directory");
  if (!root) return make_error(root.error());
  fs->set_label(fat::volume_label(root->bytes));
  return std::unique_ptr<FileSystem>(std::move(fs));
}

}  // namespace dk::fs
