// Export: one image the server offers under a name, shared by every client
// that selects it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "formats/core/error.h"
#include "formats/layer.h"
#include "nbd/server.h"

namespace dk::nbd {

// A run of an export as the read path and base:allocation see it.
struct Piece {
  uint64_t length = 0;
  bool zero = false;   // reads as zero
  bool data = false;   // some layer of the chain holds data here
};

class Export {
 public:
  // Wraps an opened layer (tests and the fuzz target build their own).
  Export(ExportSpec spec, std::unique_ptr<fmt::Layer> layer);
  // Opens spec.image and its backing chain, writable unless spec.read_only;
  // the format drivers take QEMU's image locks.
  static Result<std::unique_ptr<Export>> open(const ExportSpec& spec);

  const ExportSpec& spec() const { return m_spec; }
  uint64_t size() const { return m_size; }
  bool read_only() const { return m_spec.read_only; }

  // Claims one of max_clients slots; false when all are taken.
  bool try_acquire();
  void release();
  unsigned clients() const { return m_clients.load(); }

  // Thread-safe I/O: every call holds the export's lock, because a Layer
  // (and its backing chain) is not safe for concurrent use.
  Result<void> read(uint64_t off, std::span<std::byte> out);
  Result<void> write(uint64_t off, std::span<const std::byte> in);
  Result<void> write_zeroes(uint64_t off, uint64_t len, bool may_unmap);
  Result<void> discard(uint64_t off, uint64_t len);
  Result<void> flush();
  // Status of the whole chain from off: pieces covering at most len bytes
  // (at least one when len > 0), adjacent equal pieces merged, at most
  // max_pieces of them.
  Result<std::vector<Piece>> map(uint64_t off, uint64_t len, size_t max_pieces);

  // Flushes (when writable) and closes the image; later I/O fails with
  // ESHUTDOWN. Idempotent.
  Result<void> close();

 private:
  ExportSpec m_spec;
  std::mutex m_mu;
  std::unique_ptr<fmt::Layer> m_layer;  // null once closed
  uint64_t m_size = 0;
  std::atomic<unsigned> m_clients{0};
};

}  // namespace dk::nbd
