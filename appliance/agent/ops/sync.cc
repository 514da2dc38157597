// sync-all: everything the guest has written reaches the disk images (the
// flush goes down virtio-blk to the host's export), so the host can read
// the images directly after it.
#include <unistd.h>

#include "appliance/agent/ops/common.h"

namespace dk::agent::ops {
namespace {

Result<json> op_sync_all(Context&) {
  ::sync();
  return json(nullptr);
}

}  // namespace

DK_AGENT_OP("sync-all", op_sync_all);

}  // namespace dk::agent::ops
