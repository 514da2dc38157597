// Shared base of the filters in this folder (internal).
#pragma once

#include <memory>
#include <string>

#include "formats/chain.h"
#include "formats/layer.h"

namespace dk::fmt {

class FilterLayer : public Layer {
 public:
  // Transparent identity by default; a filter overrides what it changes.
  std::string_view format_name() const override { return m_inner->format_name(); }
  uint64_t size() const override { return m_inner->size(); }
  std::optional<uint64_t> cluster_size() const override { return m_inner->cluster_size(); }
  std::string backing_filename() const override { return m_inner->backing_filename(); }
  std::string backing_format() const override { return m_inner->backing_format(); }
  bool dirty() const override { return m_inner->dirty(); }
  std::vector<SnapshotInfo> snapshots() const override { return m_inner->snapshots(); }
  nlohmann::ordered_json format_specific() const override { return m_inner->format_specific(); }
  Result<uint64_t> actual_size() const override { return m_inner->actual_size(); }
  uint64_t max_transfer() const override { return m_inner->max_transfer(); }

 protected:
  FilterLayer(Layer& inner, std::unique_ptr<Layer> owned, bool writable)
      : Layer(inner.filename(), writable), m_inner(&inner), m_owned(std::move(owned)) {}

  Layer& inner() const { return *m_inner; }

  // The status of the chain under `inner` at [off, off+len) as one layer's
  // answer: Data or Zero (host offset kept), never unallocated.
  static Result<Extent> chain_extent(Layer& layer, uint64_t off, uint64_t len) {
    MapEntry m = DK_TRY(chain_block_status(layer, off, len));
    Extent e;
    e.length = m.length;
    e.flags = m.data ? kStatusData : kStatusZero;
    if (m.zero) e.flags |= kStatusZero;
    if (m.offset) {
      e.flags |= kStatusOffsetValid;
      e.offset = *m.offset;
      e.file = m.file;
    }
    return e;
  }

 private:
  Layer* m_inner;
  std::unique_ptr<Layer> m_owned;
};

}  // namespace dk::fmt
