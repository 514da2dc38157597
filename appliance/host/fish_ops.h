// A running appliance as the shell and RemoteFs use it: AgentCalls over
// Appliance (appliance/host/appliance.h), plus what a session needs at
// launch (activating LVM volume groups) and at the end.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "appliance/host/remote_fs.h"

namespace dk::appliance {

struct SessionDrive {
  std::string image;
  std::string format;  // empty: probed
  bool read_only = false;
};

class Session : public AgentCalls {
 public:
  ~Session() override;
  // Stops the VM cleanly (the guest flushes its disks first).
  virtual Result<void> shutdown() = 0;
};

// Boots the appliance with the drives attached (/dev/sda... in order) and
// activates the volume groups found on them.
Result<std::unique_ptr<Session>> launch_session(const std::vector<SessionDrive>& drives, bool verbose);

}  // namespace dk::appliance
