// Parsing, validation and serialization of the qcow2 header cluster.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "formats/core/error.h"
#include "formats/qcow2/format.h"

namespace dk::fmt::qcow2 {

// Parses the header and its extensions from `head` (the first cluster of the
// file or the whole file when shorter). Checks everything that does not need
// other tables; `name` names the file in errors.
Result<HeaderInfo> parse_header(std::span<const std::byte> head, const std::string& name);

// Serializes header + extensions + backing file name into one buffer of
// `cluster_size` bytes (the first cluster). Fails when it does not fit.
// Updates info.h.header_length/backing_file_offset/size fields as written.
Result<std::vector<std::byte>> serialize_header(HeaderInfo& info, const std::string& name);

// QEMU's feature names, used when the image has no feature table entry.
std::string default_feature_name(uint8_t type, uint8_t bit);

}  // namespace dk::fmt::qcow2
