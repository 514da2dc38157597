// The copy engine behind `convert`: copies the concatenation of one or more
// source chains into a target layer. Library code, so other front ends (the
// shell, tests) can call it.
//
// Design (why it is fast):
//   - block-status driven: ranges the source chain reports as zero are never
//     read; data ranges are scanned for all-zero granules (sparse output);
//   - big requests: work is cut into chunks (default 4 MiB, a multiple of the
//     target cluster size) so drivers see few, large requests;
//   - a pipeline: one reader thread plans and reads chunks (all source access
//     stays on that thread, drivers need not be thread-safe), optional worker
//     threads compress clusters, and the calling thread writes chunks strictly
//     in guest order, so the target's allocation order and bytes are
//     deterministic whatever the thread timing;
//   - bounded memory: at most `depth` chunk buffers exist at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "formats/core/error.h"
#include "formats/layer.h"

namespace dk::fmt {

// Optional capability of a target layer (a driver's Layer subclass may also
// derive from it): compressed writes split into a pure compression step that
// may run on any thread, and an ordered store step. With it `convert -c`
// compresses on every core; without it the engine calls
// Layer::write_compressed from the writing thread.
class SplitCompression {
 public:
  virtual ~SplitCompression() = default;
  // Compresses one cluster (full, or the image's partial last cluster) as the
  // format stores it. Returns std::nullopt when compression does not make it
  // smaller (the engine then writes the cluster uncompressed). Must be safe to
  // call concurrently from several threads and must do no I/O.
  virtual Result<std::optional<std::vector<std::byte>>> compress_cluster(
      std::span<const std::byte> cluster) const = 0;
  // Stores a payload returned by compress_cluster for the cluster at guest
  // offset off (cluster aligned). Called in guest order from one thread.
  virtual Result<void> write_compressed_payload(uint64_t off, std::span<const std::byte> payload) = 0;
};

// Optional capability of a source layer: where its own data lies verbatim
// in a host file. The engine then maps those pages into its chunk buffer
// instead of reading them (one copy fewer: the target write copies straight
// out of the page cache).
class HostMapped {
 public:
  struct Run {
    int fd = -1;          // host file (open as long as the layer); < 0: not
                          // stored verbatim, read these bytes with read()
    uint64_t offset = 0;  // host offset of the first byte (fd >= 0)
    uint64_t length = 0;  // > 0, <= the requested length
  };
  virtual ~HostMapped() = default;
  // The run of guest bytes starting at off (at most len > 0 bytes, inside
  // size()) with one answer: stored verbatim in this layer's host file and
  // wholly inside its current size, or not (compressed, zero, unallocated,
  // in a backing file, past the end of the file, or opened O_DIRECT). Called
  // from the thread that may call read() on the layer.
  virtual Result<Run> host_run(uint64_t off, uint64_t len) = 0;
};

// Optional capability of a target layer: writes whose data copies may run
// on other threads. write_deferred does all of a write's bookkeeping
// (allocation, tables) at once and may hand back plain data writes instead
// of doing them; the engine performs those from its workers, so the
// page-cache copies of a single-threaded driver spread over every core.
class DeferredWrites {
 public:
  struct Write {
    int fd = -1;                     // host file (open as long as the layer)
    uint64_t offset = 0;             // host offset
    const std::byte* data = nullptr;  // points into the caller's buffer
    uint64_t length = 0;
  };
  virtual ~DeferredWrites() = default;
  // Like Layer::write(off, in), but may append data writes to `out` instead
  // of doing them. The caller must complete each (pwrite) before in's bytes
  // change, before any other call on the layer that may read or write those
  // host bytes (convert writes each guest byte once, so none does), and
  // before flush() or destroying the layer.
  virtual Result<void> write_deferred(uint64_t off, std::span<const std::byte> in, std::vector<Write>& out) = 0;
};

struct ConvertOptions {
  // -S: all-zero granules of this size inside data are not written (left
  // unallocated, or written as zeroes when the target may hold data); 0 writes
  // every byte as data (fully allocated output).
  uint64_t sparse_size = 4096;
  // -c: write full clusters compressed (Layer::write_compressed).
  bool compress = false;
  // The target reads as zero everywhere before the copy (a freshly created
  // image without backing file, or --target-is-zero): zero ranges are skipped.
  // Otherwise they are written with write_zeroes.
  bool target_is_zero = true;
  // -B: the data the target's backing chain shows (opened separately from the
  // target's own chain so two threads never share a layer). Ranges whose
  // source content equals it are left unallocated; ranges that differ are
  // written (zeroes as explicit write_zeroes, never unmapping).
  Layer* compare_base = nullptr;
  // Chunk size; rounded up to a multiple of the target cluster size.
  uint64_t chunk_size = 4u << 20;
  // Chunks in flight (buffers); -m is a hint for it. Clamped to [2, 32].
  unsigned depth = 8;
  // Compression workers; 0: one per online CPU.
  unsigned threads = 0;
  // Called from the writing thread with the percentage done (0..100) in
  // qemu-img's steps (one per request of up to 2 MiB of data); the caller
  // prints 0 before and 100 after, as qemu-img does.
  std::function<void(double)> progress;
};

// Copies sources (concatenated: source i starts where source i-1 ends) into
// target, whose size must be >= the sum of the source sizes (the rest of the
// target is not touched). Sources are only read. On error the target may be
// partly written. Errors read "error while reading at byte N: ..." or
// "error while writing at byte N: ..." (N is a guest offset of the output)
// like qemu-img's.
Result<void> convert_image(std::span<Layer* const> sources, Layer& target, const ConvertOptions& opts);

}  // namespace dk::fmt
