// Layer: one image file (one node of a backing chain) as seen by consumers.
//
// Consumers call the public non-virtual methods; they check bounds, the
// writable state and alignment, and then call the driver's do_* virtuals
// (implemented per format). The checks and fallbacks live in io.cc (the
// request pipeline) so drivers stay small:
//   - read/write/... reject requests past size() with EINVAL and writes on a
//     read-only layer with EROFS;
//   - requests are split at max_transfer() and, when the driver asks for a
//     request_alignment() > 1, widened with read-modify-write;
//   - write_zeroes falls back to writing zero buffers when the driver returns
//     ENOTSUP; discard is a no-op when the driver returns ENOTSUP.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "formats/core/error.h"

namespace dk::fmt {

// block_status flags; the meaning is QEMU's BDRV_BLOCK_* for one layer.
enum StatusFlags : uint32_t {
  kStatusData = 1u << 0,         // this layer has data here (reads return it)
  kStatusZero = 1u << 1,         // this layer reads as zero here
  kStatusOffsetValid = 1u << 2,  // Extent::offset is a host offset in Extent::file
};

// The answer of block_status for [off, off+length): one uniform status.
// Neither kStatusData nor kStatusZero: unallocated here, ask the backing layer.
struct Extent {
  uint64_t length = 0;   // > 0 and <= the requested length
  uint32_t flags = 0;
  uint64_t offset = 0;   // host offset, valid with kStatusOffsetValid
  std::string file;      // host file the offset refers to (for map), may be empty

  bool data() const { return flags & kStatusData; }
  bool zero() const { return flags & kStatusZero; }
  bool allocated() const { return flags & (kStatusData | kStatusZero); }
  bool offset_valid() const { return flags & kStatusOffsetValid; }
};

// An internal snapshot as `qemu-img info` and `snapshot -l` show it.
struct SnapshotInfo {
  std::string id;
  std::string name;
  uint64_t vm_state_size = 0;
  uint64_t date_sec = 0;
  uint64_t date_nsec = 0;
  uint64_t vm_clock_nsec = 0;   // guest clock in ns (QEMU splits it into sec/nsec)
  std::optional<uint64_t> icount;  // absent when the image stores none (-1)
  uint64_t disk_size = 0;          // virtual size at the time of the snapshot
};

class Layer {
 public:
  virtual ~Layer();

  // ---- Identity and metadata (cheap, no I/O) ----

  // The -f name of the driver ("raw", "qcow2", ...).
  virtual std::string_view format_name() const = 0;
  // Virtual (guest-visible) size in bytes.
  virtual uint64_t size() const = 0;
  // The file this layer was opened from, as given to open().
  const std::string& filename() const { return m_filename; }
  // Cluster (allocation unit) size, if the format has one.
  virtual std::optional<uint64_t> cluster_size() const { return std::nullopt; }
  // Backing file name and format exactly as stored in the image header (empty when none).
  virtual std::string backing_filename() const { return {}; }
  virtual std::string backing_format() const { return {}; }
  // True when the format records an unclean shutdown (qcow2 dirty bit, qed need-check).
  virtual bool dirty() const { return false; }
  // Internal snapshots (empty for formats without them).
  virtual std::vector<SnapshotInfo> snapshots() const { return {}; }
  // qemu-img info's format-specific "data" object with keys in QEMU's field
  // order; null when the format has none.
  virtual nlohmann::ordered_json format_specific() const { return nullptr; }
  // Bytes the image occupies on the host (all its files), for "disk size".
  virtual Result<uint64_t> actual_size() const = 0;
  // Largest request the driver wants at once (the pipeline splits above it).
  virtual uint64_t max_transfer() const { return 64u << 20; }
  // Alignment every request passed to do_read/do_write has (power of two).
  virtual uint32_t request_alignment() const { return 1; }
  // True when opened for writing.
  bool writable() const { return m_writable; }

  // ---- I/O (bounds-checked pipeline, see io.cc) ----

  // Reads guest data; unallocated ranges come from the backing layer or read as zero.
  Result<void> read(uint64_t off, std::span<std::byte> out);
  Result<void> write(uint64_t off, std::span<const std::byte> in);
  // Makes [off, off+len) read as zero; may_unmap allows deallocating.
  Result<void> write_zeroes(uint64_t off, uint64_t len, bool may_unmap = false);
  Result<void> discard(uint64_t off, uint64_t len);
  // Makes everything written so far stable on disk (metadata included, in order).
  Result<void> flush();
  // Status of this layer only, starting at off, for at most len bytes.
  Result<Extent> block_status(uint64_t off, uint64_t len);
  // Writes one cluster-aligned run of already-compressible data compressed
  // (qcow2 `convert -c`); ENOTSUP for formats without compression.
  Result<void> write_compressed(uint64_t off, std::span<const std::byte> in);
  // Changes the virtual size (resize); ENOTSUP where the format cannot.
  Result<void> truncate(uint64_t new_size, bool shrink_allowed);

  // ---- Backing chain ----
  Layer* backing() const { return m_backing.get(); }
  // Attaches the (read-only) backing layer; called by the chain opener.
  void set_backing(std::unique_ptr<Layer> b) { m_backing = std::move(b); }
  // Rewrites the backing file name/format in the header (rebase -u, commit).
  virtual Result<void> set_backing_file(const std::string& name, const std::string& fmt);

  // ---- Emptying (commit) ----
  // Makes every guest range of this layer unallocated, so reads fall
  // through to the backing file, freeing the space it held (QEMU's
  // bdrv_make_empty, used by `commit` without -d). Internal snapshots keep
  // their data. Needs a writable layer; the result is stable on disk when it
  // returns. ENOTSUP for formats that cannot (commit then leaves the layer as
  // it is, like qemu-img).
  virtual Result<void> make_empty() {
    return make_error(ENOTSUP, "'" + filename() + "': " + std::string(format_name()) +
                                   " does not support emptying nodes");
  }

  // ---- Internal snapshots (`snapshot -c/-a/-d`) ----
  // Each call changes the image in place, crash-safely, and is stable on disk
  // when it returns. ENOSYS: the format has no internal snapshots.
  // Records the current state as a new snapshot: `sn` gives the name, date,
  // VM clock and icount; the id is the driver's (the next free number).
  // Returns the new snapshot's id.
  virtual Result<std::string> snapshot_create(const SnapshotInfo& sn) {
    (void)sn;
    return make_error(ENOSYS, "'" + m_filename + "': the format does not support internal snapshots");
  }
  // Reverts the current state to the snapshot whose id, or else name, is
  // `id_or_name` (ENOENT when none), virtual size included.
  virtual Result<void> snapshot_apply(const std::string& id_or_name) {
    (void)id_or_name;
    return make_error(ENOSYS, "'" + m_filename + "': the format does not support internal snapshots");
  }
  // Deletes the snapshot with this id and this name (ENOENT when none).
  virtual Result<void> snapshot_delete(const std::string& id, const std::string& name) {
    (void)id, (void)name;
    return make_error(ENOSYS, "'" + m_filename + "': the format does not support internal snapshots");
  }

 protected:
  Layer(std::string filename, bool writable)
      : m_filename(std::move(filename)), m_writable(writable) {}

  // Driver hooks. Arguments are in bounds and aligned to request_alignment();
  // lengths are <= max_transfer().
  virtual Result<void> do_read(uint64_t off, std::span<std::byte> out) = 0;
  virtual Result<void> do_write(uint64_t off, std::span<const std::byte> in);
  virtual Result<void> do_write_zeroes(uint64_t off, uint64_t len, bool may_unmap);
  virtual Result<void> do_discard(uint64_t off, uint64_t len);
  virtual Result<void> do_flush();
  virtual Result<Extent> do_block_status(uint64_t off, uint64_t len) = 0;
  virtual Result<void> do_write_compressed(uint64_t off, std::span<const std::byte> in);
  virtual Result<void> do_truncate(uint64_t new_size, bool shrink_allowed);

  // For drivers: reads [off, off+len) of what lies below this layer — the
  // backing layer (zero past its end) or zeroes when there is none.
  Result<void> read_below(uint64_t off, std::span<std::byte> out);

 private:
  std::string m_filename;
  bool m_writable;
  std::unique_ptr<Layer> m_backing;
};

}  // namespace dk::fmt
