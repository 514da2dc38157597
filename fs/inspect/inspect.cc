// inspect_os and list_applications (first cut: declared API, filled in next).
#include "fs/inspect/inspect.h"

namespace dk::fs {

Result<std::vector<OsInfo>> inspect_os(Guest&, const InspectOptions&) {
  return make_error(ENOTSUP, "inspection is not implemented yet");
}

Result<std::vector<Application>> list_applications(const Mounts&, const OsInfo&) {
  return make_error(ENOTSUP, "inspection is not implemented yet");
}

Result<std::vector<Application>> list_applications(Guest&, const OsInfo&) {
  return make_error(ENOTSUP, "inspection is not implemented yet");
}

Result<void> mount_os(GuestMounts&, const OsInfo&, const MountOptions&) {
  return make_error(ENOTSUP, "inspection is not implemented yet");
}

}  // namespace dk::fs
