#include "appliance/host/appliance.h"

namespace dk::appliance {

Result<std::unique_ptr<Appliance>> Appliance::launch(const LaunchOptions&) {
  return make_error(ENOTSUP, "the appliance launcher is not built yet");
}

}  // namespace dk::appliance
