// Offset view: a window of another layer as a disk (a partition as a disk).
#include "formats/core/checked_math.h"
#include "formats/filters/filter.h"
#include "formats/filters/filters.h"

namespace dk::fmt {

namespace {

class OffsetLayer final : public FilterLayer {
 public:
  OffsetLayer(Layer& inner, std::unique_ptr<Layer> owned, uint64_t offset, uint64_t length)
      : FilterLayer(inner, std::move(owned), inner.writable()), m_offset(offset), m_length(length) {}

  // A window is a plain disk: no format metadata or backing of its own.
  std::string_view format_name() const override { return "raw"; }
  uint64_t size() const override { return m_length; }
  std::optional<uint64_t> cluster_size() const override { return std::nullopt; }
  std::string backing_filename() const override { return {}; }
  std::string backing_format() const override { return {}; }
  bool dirty() const override { return false; }
  std::vector<SnapshotInfo> snapshots() const override { return {}; }
  nlohmann::ordered_json format_specific() const override { return nullptr; }

 protected:
  // The inner layer's own pipeline aligns requests, so offsets need not be.
  Result<void> do_read(uint64_t off, std::span<std::byte> out) override {
    return inner().read(m_offset + off, out);
  }
  Result<void> do_write(uint64_t off, std::span<const std::byte> in) override {
    return inner().write(m_offset + off, in);
  }
  Result<void> do_write_zeroes(uint64_t off, uint64_t len, bool may_unmap) override {
    return inner().write_zeroes(m_offset + off, len, may_unmap);
  }
  Result<void> do_discard(uint64_t off, uint64_t len) override {
    return inner().discard(m_offset + off, len);
  }
  Result<void> do_flush() override { return inner().flush(); }
  Result<Extent> do_block_status(uint64_t off, uint64_t len) override {
    return chain_extent(inner(), m_offset + off, len);
  }

 private:
  uint64_t m_offset;
  uint64_t m_length;
};

Result<void> check_window(const Layer& inner, uint64_t offset, uint64_t length) {
  if (!range_within(offset, length, inner.size()))
    return make_error(EINVAL, "'" + inner.filename() + "': window at offset " + std::to_string(offset) +
                                  " length " + std::to_string(length) + " is beyond the end of the image (" +
                                  std::to_string(inner.size()) + " bytes)");
  return {};
}

}  // namespace

Result<std::unique_ptr<Layer>> make_offset_view(Layer& inner, uint64_t offset, uint64_t length) {
  DK_TRY(check_window(inner, offset, length));
  return std::unique_ptr<Layer>(new OffsetLayer(inner, nullptr, offset, length));
}

Result<std::unique_ptr<Layer>> make_offset_view(std::unique_ptr<Layer> inner, uint64_t offset,
                                                uint64_t length) {
  DK_TRY(check_window(*inner, offset, length));
  Layer& ref = *inner;
  return std::unique_ptr<Layer>(new OffsetLayer(ref, std::move(inner), offset, length));
}

}  // namespace dk::fmt
