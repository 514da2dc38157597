#include "appliance/host/appliance.h"

namespace dk::appliance {

Appliance::~Appliance() = default;

}  // namespace dk::appliance
