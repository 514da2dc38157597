// Output helpers of the guest tools, shaped like libguestfs' virt-* output.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dk::tools {

// gnulib human_readable() with autoscale, base 1024, SI suffixes and
// round-to-nearest, as virt-filesystems -h and virt-df -h print sizes:
// "512", "1.0K", "20M", "1.5G".
std::string human_size(uint64_t bytes);

// virt-filesystems' table: rows of optional cells (nullopt and "" print as
// "-"), columns that are empty in every row dropped, two spaces between
// columns (one when the table would be wider than 72), no trailing spaces.
std::string format_columns(const std::vector<std::vector<std::optional<std::string>>>& rows);

// One CSV field as libguestfs quotes it (quotes only when needed).
std::string csv_field(const std::string& s);

}  // namespace dk::tools
