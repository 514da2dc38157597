// The result of a consistency check (`qemu-img check`), as QEMU's
// BdrvCheckResult plus the diagnostics its drivers print while checking.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dk::fmt {

// What a check may repair (qemu-img check -r leaks / -r all).
enum CheckFix : uint8_t {
  kCheckFixNone = 0,
  kCheckFixLeaks = 1u << 0,
  kCheckFixErrors = 1u << 1,
};

struct CheckReport {
  uint64_t corruptions = 0;        // left unfixed
  uint64_t leaks = 0;              // left unfixed
  uint64_t check_errors = 0;       // the check itself failed somewhere
  uint64_t corruptions_fixed = 0;
  uint64_t leaks_fixed = 0;
  uint64_t image_end_offset = 0;   // 0: the format reports none
  uint64_t total_clusters = 0;
  uint64_t allocated_clusters = 0;
  uint64_t fragmented_clusters = 0;
  uint64_t compressed_clusters = 0;
  // Lines QEMU's driver prints to stderr while checking, in order.
  std::vector<std::string> messages;
  // Non-zero (an errno) when the check stopped early: qemu-img then prints
  // "Check failed: <strerror>" and exits 1 without a summary.
  int failed = 0;
};

}  // namespace dk::fmt
