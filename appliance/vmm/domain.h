// libvirt domain XML (the subset diskit run understands) -> VmConfig.
// Supported: <domain type='kvm|qemu'>, name, memory/currentMemory (unit),
// vcpu, os (type arch/machine, kernel, initrd, cmdline), on_poweroff,
// on_reboot, on_crash, devices (disk type='file' device='disk' with driver
// type, source file, target dev/bus='virtio', readonly; serial/console of
// type stdio, file, null or pty). Anything else is reported in warnings
// ("unsupported element <domain/uuid> ignored") or, where ignoring it
// would change what the guest sees (a SATA disk, a block device source),
// is an error.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "appliance/vmm/vm.h"

namespace dk::vmm {

struct Domain {
  VmConfig config;
  std::vector<std::string> warnings;  // one line each, without the file name
};

// `what` names the document in messages (usually its file name).
Result<Domain> parse_domain_xml(std::string_view xml, const std::string& what);
Result<Domain> load_domain_xml(const std::string& path);

// "512", "512M", "1G", "1.5G"... as QEMU's -m: the default unit is MiB.
Result<uint64_t> parse_memory_mib(const std::string& s);

}  // namespace dk::vmm
