// Running host programs at build time (ldd, dpkg-query, busybox, xz):
// fork + exec without a shell, stdout captured, stderr discarded.
#pragma once

#include <string>
#include <vector>

#include "formats/core/error.h"

namespace dk::appliance {

struct Captured {
  int status = 0;
  std::string out;
};

Result<Captured> capture(const std::vector<std::string>& argv);

}  // namespace dk::appliance
