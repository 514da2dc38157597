// Internals of the copy engine: planning a chunk from block status, and
// turning a read chunk into the list of target operations. Pure logic with
// no threads, so tests can drive it directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "formats/convert/convert.h"
#include "formats/core/error.h"
#include "formats/layer.h"

namespace dk::fmt::convert_detail {

// A run of the output that lies inside one input (a source, or the compare
// base) and has one status there.
struct Piece {
  bool data = false;     // false: reads as zero, never read
  uint64_t out_off = 0;  // output (guest) offset
  uint64_t len = 0;
  size_t input = 0;      // index of the input layer
  uint64_t in_off = 0;   // offset inside that layer
};

// Walks the concatenation of input layers and answers which output ranges
// hold data. Caches the last block-status answer per input so a long extent
// costs one call, not one per chunk.
class Planner {
 public:
  explicit Planner(std::vector<Layer*> inputs);
  uint64_t total_size() const { return m_total; }
  // Pieces covering [off, off+len) in order (len > 0, inside total_size()).
  // With promote > 0 (a cluster size; off is a multiple of it), every
  // promote-aligned block that contains any data becomes data as a whole, so
  // compressed output always reads full clusters.
  Result<std::vector<Piece>> plan(uint64_t off, uint64_t len, uint64_t promote = 0);

 private:
  struct Input {
    Layer* layer;
    uint64_t start;   // output offset of its first byte
    uint64_t size;
    uint64_t cached_start = 0, cached_end = 0;  // cached status range
    bool cached_data = false;
  };
  Result<std::vector<Piece>> plan_raw(uint64_t off, uint64_t len);
  std::vector<Input> m_inputs;
  uint64_t m_total = 0;
};

// Reads the data pieces of a chunk into buf (buf[0] is output offset chunk_off).
Result<void> read_pieces(std::span<Layer* const> inputs, std::span<const Piece> pieces, uint64_t chunk_off,
                         std::span<std::byte> buf);

enum class OpKind : uint8_t {
  kWrite,          // write buf range as data
  kZeroUnmap,      // write_zeroes, may deallocate
  kZeroKeep,       // write_zeroes, must not expose the backing file
  kCompressed,     // Layer::write_compressed of one cluster from buf
  kPayload,        // SplitCompression::write_compressed_payload
};

struct Op {
  OpKind kind;
  uint64_t off;   // output offset
  uint64_t len;
  std::vector<std::byte> payload;  // kPayload only
};

// Everything process_chunk needs besides the buffers.
struct ChunkSettings {
  uint64_t sparse_size = 4096;
  bool target_is_zero = true;
  bool compare = false;      // base_pieces/base_buf are valid
  bool compress = false;
  uint64_t cluster_size = 65536;   // for compress
  const SplitCompression* splitter = nullptr;  // compress in process_chunk
};

// Decides the target operations for one chunk. buf holds the source data of
// the data pieces; zero pieces' bytes in buf are undefined and may be
// overwritten with zeroes. base_buf (compare mode) holds the base's data
// pieces likewise.
Result<std::vector<Op>> process_chunk(const ChunkSettings& s, uint64_t chunk_off, std::span<std::byte> buf,
                                      std::span<const Piece> pieces, std::span<std::byte> base_buf,
                                      std::span<const Piece> base_pieces);

}  // namespace dk::fmt::convert_detail
