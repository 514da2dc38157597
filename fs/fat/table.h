// The file allocation table: entry reads and writes through a cache of
// 64 KiB chunks of the FAT in use, dirty chunks written to every mirrored
// copy by commit().
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "formats/layer.h"
#include "fs/fat/bpb.h"

namespace dk::fs::fat {

class FatTable {
 public:
  FatTable(fmt::Layer& dev, const Geometry& g, std::string name) : m_dev(dev), m_g(g), m_name(std::move(name)) {}

  // The entry of `cluster` (0 .. cluster_count + 1); FAT32's top four bits masked off.
  Result<uint32_t> get(uint32_t cluster);
  // Sets the entry (FAT32 keeps the top four bits); stays in memory until commit().
  Result<void> set(uint32_t cluster, uint32_t value);
  bool dirty() const { return !m_dirty.empty(); }
  size_t dirty_bytes() const { return m_dirty.size() * kChunk; }
  // Writes the dirty chunks to every FAT copy in use (no device flush).
  Result<void> commit();

 private:
  static constexpr uint64_t kChunk = 64 * 1024;
  static constexpr size_t kMaxCleanChunks = 512;  // 32 MiB of cached FAT
  Result<uint8_t*> at(uint64_t byte);

  fmt::Layer& m_dev;
  const Geometry& m_g;
  std::string m_name;
  std::unordered_map<uint64_t, std::vector<uint8_t>> m_chunks;
  std::unordered_map<uint64_t, bool> m_dirty;  // chunk index -> true
  uint64_t m_last_index = ~uint64_t{0};
  uint8_t* m_last = nullptr;
};

}  // namespace dk::fs::fat
