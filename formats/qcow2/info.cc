// Metadata shown by `info`.
#include "formats/qcow2/qcow2.h"

namespace dk::fmt::qcow2 {

nlohmann::ordered_json Qcow2Layer::format_specific() const {
  const Header& h = m_info.h;
  nlohmann::ordered_json d;
  const char* ctype = h.compression_type == kCompressionZstd ? "zstd" : "zlib";
  if (h.version < 3) {
    d["compat"] = "0.10";
    d["compression-type"] = ctype;
    d["refcount-bits"] = m_refcount_bits;
    return d;
  }
  d["compat"] = "1.1";
  d["compression-type"] = ctype;
  d["lazy-refcounts"] = bool(h.compatible_features & kCompatLazyRefcounts);
  d["refcount-bits"] = m_refcount_bits;
  if (h.incompatible_features & kIncompatDataFile) {
    d["data-file"] = m_info.data_file;
    d["data-file-raw"] = bool(h.autoclear_features & kAutoclearDataFileRaw);
  }
  d["corrupt"] = bool(h.incompatible_features & kIncompatCorrupt);
  d["extended-l2"] = bool(h.incompatible_features & kIncompatExtendedL2);
  return d;
}

// Only the qcow2 file: qemu-img 7.2 does not add an external data file.
Result<uint64_t> Qcow2Layer::actual_size() const { return m_file.allocated_size(); }

}  // namespace dk::fmt::qcow2
