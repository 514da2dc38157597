// The VMDK text descriptor ("# Disk DescriptorFile"): parsing and writing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "formats/core/error.h"

namespace dk::fmt::vmdk {

inline constexpr uint32_t kNoParentCid = 0xffffffff;

struct ExtentLine {
  std::string access;    // RW, RDONLY, NOACCESS
  uint64_t sectors = 0;
  std::string type;      // FLAT, SPARSE, VMFS, VMFSSPARSE, SESPARSE, ZERO, ...
  std::string filename;  // as written (relative to the descriptor)
  uint64_t offset = 0;   // sectors into the file (FLAT/VMFS)
};

struct Descriptor {
  uint32_t version = 1;
  uint32_t cid = 0;
  uint32_t parent_cid = kNoParentCid;
  std::string create_type;
  std::string parent_hint;   // parentFileNameHint (empty: none)
  std::vector<ExtentLine> extents;
  std::vector<std::pair<std::string, std::string>> ddb;  // ddb.* keys in file order

  // The value of a ddb key ("" when absent).
  std::string ddb_value(std::string_view key) const;
};

// Parses descriptor text (NUL-terminated or not); `file` names it in errors.
// Extent lines are checked for syntax only (paths are checked at open).
Result<Descriptor> parse_descriptor(std::string_view text, const std::string& file);

// QEMU's descriptor layout (vmdk_co_do_create's template).
struct DescriptorParams {
  uint32_t cid = 0;
  uint32_t parent_cid = kNoParentCid;
  std::string create_type;
  std::string parent_hint;
  std::vector<ExtentLine> extents;
  std::string hw_version = "4";
  uint64_t cylinders = 0;
  uint32_t heads = 16;
  std::string adapter_type = "ide";
  std::string tools_version = "2147483647";
};
std::string format_descriptor(const DescriptorParams& p);

}  // namespace dk::fmt::vmdk
