#include "fs/disk.h"

#include <cstdio>
#include <cstring>

#include "formats/chain.h"
#include "formats/filters/filters.h"

namespace dk::fs {

std::string disk_name(size_t index) {
  // Bijective base 26, like the Linux sd driver's sd_format_disk_name.
  std::string letters;
  size_t n = index + 1;
  while (n > 0) {
    --n;
    letters.insert(letters.begin(), static_cast<char>('a' + n % 26));
    n /= 26;
  }
  return "/dev/sd" + letters;
}

Result<std::unique_ptr<Guest>> Guest::open(const std::vector<DiskSpec>& disks, bool writable,
                                           std::function<void(const std::string&)> warn) {
  std::vector<std::unique_ptr<fmt::Layer>> layers;
  for (const DiskSpec& d : disks) {
    fmt::ChainOptions co;
    co.format = d.format;
    co.open.writable = writable;
    co.open.force_share = !writable;
    co.warn = warn;
    auto top = fmt::open_chain(d.path, co);
    if (!top) return make_error(top.error().with_context("could not open '" + d.path + "'"));
    layers.push_back(std::move(*top));
  }
  auto g = DK_TRY(from_layers(std::move(layers), std::move(warn)));
  g->m_writable = writable;
  return g;
}

Result<std::unique_ptr<Guest>> Guest::from_layers(std::vector<std::unique_ptr<fmt::Layer>> layers,
                                                  std::function<void(const std::string&)> warn) {
  auto g = std::unique_ptr<Guest>(new Guest);
  for (auto& l : layers) DK_TRY(g->add_disk(std::move(l), warn));
  g->m_writable = false;
  return g;
}

Result<void> Guest::add_disk(std::unique_ptr<fmt::Layer> layer,
                             const std::function<void(const std::string&)>& warn) {
  Disk d;
  d.table = DK_TRY_CTX(read_partition_table(*layer), "'" + layer->filename() + "'");
  for (const std::string& w : d.table.warnings) {
    if (warn) warn(w);
    else std::fprintf(stderr, "diskit: warning: %s\n", w.c_str());
  }
  if (d.table.kind != TableKind::None && layer->size() >= 34 * 1024) {
    uint8_t vd[6];
    DK_TRY(layer->read(32 * 1024, std::as_writable_bytes(std::span(vd))));
    d.hybrid_iso = vd[0] == 1 && std::memcmp(vd + 1, "CD001", 5) == 0;
  }
  d.layer = std::move(layer);
  m_disks.push_back(std::move(d));
  return {};
}

std::vector<BlockDevice> Guest::devices() const {
  std::vector<BlockDevice> out;
  for (size_t i = 0; i < m_disks.size(); ++i)
    out.push_back({disk_name(i), i, 0, 0, m_disks[i].layer->size(), nullptr});
  return out;
}

std::vector<BlockDevice> Guest::partitions() const {
  std::vector<BlockDevice> out;
  for (size_t i = 0; i < m_disks.size(); ++i) {
    for (const Partition& p : m_disks[i].table.partitions) {
      BlockDevice b{disk_name(i) + std::to_string(p.number), i, p.number, p.offset, p.size, &p};
      if (p.extended) b.size = std::min<uint64_t>(p.size, 1024);
      out.push_back(std::move(b));
    }
  }
  return out;
}

std::vector<BlockDevice> Guest::filesystem_candidates() const {
  std::vector<BlockDevice> out;
  auto parts = partitions();
  for (size_t i = 0; i < m_disks.size(); ++i) {
    if (m_disks[i].table.partitions.empty() || m_disks[i].hybrid_iso)
      out.push_back({disk_name(i), i, 0, 0, m_disks[i].layer->size(), nullptr});
    for (const auto& p : parts)
      if (p.disk == i) out.push_back(p);
  }
  return out;
}

Result<BlockDevice> Guest::find(std::string_view name) const {
  std::string n(name);
  if (n.size() > 7 && n.compare(0, 5, "/dev/") == 0 && (n[5] == 'v' || n[5] == 'h') && n[6] == 'd')
    n[5] = 's';
  for (auto& d : devices())
    if (d.name == n) return d;
  for (auto& p : partitions())
    if (p.name == n) return p;
  return make_error(ENOENT, "'" + std::string(name) + "': no such device in the guest");
}

Result<std::unique_ptr<fmt::Layer>> Guest::open_device(const BlockDevice& dev) {
  if (dev.disk >= m_disks.size()) return make_error(EINVAL, "'" + dev.name + "': bad disk index");
  return fmt::make_offset_view(*m_disks[dev.disk].layer, dev.offset, dev.size);
}

}  // namespace dk::fs
