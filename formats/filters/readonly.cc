// Read-only wrapper: the pipeline refuses every write with EROFS because
// the wrapper reports itself read-only; reads and status pass through.
#include "formats/filters/filter.h"
#include "formats/filters/filters.h"

namespace dk::fmt {

namespace {

class ReadOnlyLayer final : public FilterLayer {
 public:
  ReadOnlyLayer(Layer& inner, std::unique_ptr<Layer> owned)
      : FilterLayer(inner, std::move(owned), /*writable=*/false) {}

 protected:
  Result<void> do_read(uint64_t off, std::span<std::byte> out) override { return inner().read(off, out); }
  Result<Extent> do_block_status(uint64_t off, uint64_t len) override {
    return chain_extent(inner(), off, len);
  }
};

}  // namespace

std::unique_ptr<Layer> make_read_only(Layer& inner) {
  return std::unique_ptr<Layer>(new ReadOnlyLayer(inner, nullptr));
}

std::unique_ptr<Layer> make_read_only(std::unique_ptr<Layer> inner) {
  Layer& ref = *inner;
  return std::unique_ptr<Layer>(new ReadOnlyLayer(ref, std::move(inner)));
}

}  // namespace dk::fmt
