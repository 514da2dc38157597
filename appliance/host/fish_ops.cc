#include "appliance/host/fish_ops.h"

// Until Appliance::launch is built (appliance/host/appliance.cc), sessions
// cannot start; the adapter over it replaces this file then.
namespace dk::appliance {

Session::~Session() = default;

Result<std::unique_ptr<Session>> launch_session(const std::vector<SessionDrive>&, bool) {
  return make_error(ENOTSUP, "the appliance is not built into this diskit");
}

}  // namespace dk::appliance
