// The explicit list of format drivers. Add a driver here, nowhere else.
#include <fcntl.h>

#include <algorithm>
#include <array>
#include <vector>

#include "formats/core/file.h"
#include "formats/driver.h"

namespace dk::fmt {

extern const FormatDriver kRawDriver;
extern const FormatDriver kQcow2Driver;
extern const FormatDriver kQedDriver;
extern const FormatDriver kVmdkDriver;
extern const FormatDriver kVdiDriver;

namespace {
constexpr std::array<const FormatDriver*, 5> kDrivers = {&kRawDriver, &kQcow2Driver, &kQedDriver,
                                                         &kVmdkDriver, &kVdiDriver};
}

const FormatDriver* find_driver(std::string_view name) {
  for (const FormatDriver* d : kDrivers)
    if (d->name == name) return d;
  return nullptr;
}

std::span<const FormatDriver* const> all_drivers() { return kDrivers; }

Result<const FormatDriver*> probe_file(const std::string& path) {
  File f = DK_TRY(File::open(path, O_RDONLY));
  uint64_t size = DK_TRY(f.size());
  std::vector<std::byte> head(std::min<uint64_t>(size, 4096));
  DK_TRY(f.pread_exact(0, head));
  const FormatDriver* best = nullptr;
  int best_score = 0;
  for (const FormatDriver* d : kDrivers) {
    int score = d->probe(head, path);
    if (score > best_score) {
      best = d;
      best_score = score;
    }
  }
  if (!best) return make_error(EINVAL, "could not determine the image format of '" + path + "'");
  return best;
}

}  // namespace dk::fmt
