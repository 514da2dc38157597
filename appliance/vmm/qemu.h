// The QEMU backend of Vm: builds qemu-system-x86_64's command line and runs
// it with an in-process NBD server for the drives and a private QMP socket
// for control. Everything QEMU-specific lives in qemu.{h,cc} and
// qemu_vm.cc.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "appliance/vmm/vm.h"

namespace dk::vmm {

// The machine `diskit run` uses when VmConfig::machine is empty.
extern const char* const kDefaultMachine;

// Where the runner keeps its private sockets (created per run by mkdtemp).
struct RunPaths {
  std::string dir;                     // the run directory
  std::string nbd_socket() const { return dir + "/nbd.sock"; }
  std::string qmp_socket() const { return dir + "/qmp.sock"; }
};

// The NBD export name of drive i ("vda", "vdb", ...).
std::string drive_name(size_t index);

// The QEMU command line for cfg with the private sockets under paths.dir.
// `accel` is the already resolved accelerator (never Auto).
Result<std::vector<std::string>> qemu_argv_at(const VmConfig& cfg, Accel accel, const RunPaths& paths);

// Whether `machine` (empty: the default) gets PCIe root ports for hot-plug.
bool machine_has_root_ports(const std::string& machine);

// The id of hot-plug root port i (VmConfig::hotplug_slots).
std::string hotplug_port(size_t index);

// The QEMU binary: $DISKIT_QEMU if set, else qemu-system-x86_64 on PATH.
std::string qemu_binary();

Result<std::unique_ptr<Vm>> create_qemu_vm(const VmConfig& cfg);

}  // namespace dk::vmm
