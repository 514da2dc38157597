#include "formats/maint/measure.h"

#include "formats/chain.h"

namespace dk::fmt::maint {
namespace {

uint64_t div_up(uint64_t a, uint64_t b) { return (a + b - 1) / b; }
uint64_t round_up(uint64_t a, uint64_t b) { return div_up(a, b) * b; }

// Refcount table and block clusters needed to count `clusters` clusters
// plus themselves (a fixed point: the blocks count themselves too).
uint64_t refcount_metadata_size(uint64_t clusters, uint64_t cs, uint32_t refcount_bits) {
  const uint64_t per_table_cluster = cs / 8;
  const uint64_t per_block = cs * 8 / refcount_bits;
  uint64_t table = 0, blocks = 0, n = 0, last = 0;
  do {
    last = n;
    blocks = div_up(clusters + table + blocks, per_block);
    table = div_up(blocks, per_table_cluster);
    n = clusters + blocks + table;
  } while (n != last);
  return (blocks + table) * cs;
}

// Header, L1, L2 and refcount structures plus data for a fully allocated
// qcow2 image of `size` bytes (QEMU's prealloc size formula).
uint64_t qcow2_full_size(uint64_t size, const MeasureTarget& t) {
  const uint64_t cs = t.cluster_size;
  const uint64_t aligned = round_up(size, cs);
  const uint64_t l2e = t.extended_l2 ? 16 : 8;
  uint64_t meta = cs;  // header
  uint64_t nl2e = round_up(aligned / cs, cs / l2e);
  meta += nl2e * l2e;
  uint64_t nl1e = round_up(nl2e * l2e / cs, cs / 8);
  meta += nl1e * 8;
  meta += refcount_metadata_size((meta + aligned) / cs, cs, t.refcount_bits);
  return meta + aligned;
}

// Bytes of whole clusters holding data somewhere in the chain (zero and
// unallocated ranges need no data cluster in a new image).
Result<uint64_t> data_clusters_bytes(Layer& in, uint64_t cs) {
  const uint64_t size = in.size();
  uint64_t required = 0;
  uint64_t off = 0;
  while (off < size) {
    MapEntry e = DK_TRY(chain_block_status(in, off, size - off));
    uint64_t n = e.length;
    if (n == 0) return make_error(EIO, "'" + in.filename() + "': block status returned no progress");
    if (!e.zero && e.data && e.present) {
      // Count from the start of the cluster to its end and skip past it.
      n = round_up(off + n, cs) - off;
      required += off % cs + n;
    }
    off += n;
  }
  return required;
}

}  // namespace

Result<MeasureInfo> measure_image(Layer* input, uint64_t size, const MeasureTarget& t) {
  MeasureInfo info;
  if (input) size = input->size();
  if (t.format == "raw") {
    info.required = info.fully_allocated = round_up(size, 512);
    return info;
  }
  if (t.format != "qcow2")
    return make_error(ENOTSUP, "Block driver '" + t.format + "' does not support size measurement");
  const uint64_t cs = t.cluster_size;
  const uint64_t vsize = round_up(size, cs);
  // A new empty image needs no data clusters; preallocation needs all.
  uint64_t required = 0;
  if (t.prealloc_all) required = vsize;
  else if (input) required = DK_TRY(data_clusters_bytes(*input, cs));
  info.fully_allocated = qcow2_full_size(vsize, t);
  // The metadata for the full size stays counted: QEMU overestimates the same way.
  info.required = info.fully_allocated - vsize + required;
  if (t.v3 && input && input->format_name() == "qcow2") info.bitmaps = 0;
  return info;
}

}  // namespace dk::fmt::maint
