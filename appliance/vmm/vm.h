// The VM runner's interface: one guest with virtio-blk disks served by an
// in-process NBD export of formats/ (QEMU never opens an image file), a
// serial console, QMP for control, and optional virtio-serial channels.
// QEMU (TCG or KVM) is today's backend; a native KVM backend can implement
// Vm later on hosts with hardware virtualization.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "formats/core/error.h"

namespace dk::vmm {

enum class Accel { Auto, Kvm, Tcg };

struct AccelChoice {
  Accel accel = Accel::Tcg;
  std::string reason;  // one line, printed by diskit run
};

// Kvm only where /dev/kvm opens and the CPU has hardware virtualization
// (vmx/svm in /proc/cpuinfo): a software KVM is far slower than TCG.
AccelChoice choose_accel(Accel requested);

struct DriveSpec {
  std::string image;
  std::string format;  // empty: probed as qemu-img does
  bool read_only = false;
};

// A virtio-serial port `name` in the guest connected to a unix socket at
// `socket_path` that the runner creates on the host.
struct ChannelSpec {
  std::string name;
  std::string socket_path;
};

struct VmConfig {
  std::string kernel, initrd, append;
  uint64_t memory_mib = 512;
  unsigned cpus = 1;
  std::vector<DriveSpec> drives;  // /dev/vda, /dev/vdb, ... in order
  Accel accel = Accel::Auto;
  std::string console_path;       // empty: the serial console goes to stdout
  std::string qmp_path;           // an extra user-visible QMP socket; empty: none
  std::vector<ChannelSpec> channels;
  std::string incoming_state;     // non-empty: restore this saved state instead of booting
  std::string machine;            // empty: the runner's measured default
  std::string name;               // the guest's name (domain XML), shown by QEMU; may be empty
};

class Vm {
 public:
  virtual ~Vm();
  // Launches the guest; returns once QEMU runs and QMP is connected.
  virtual Result<void> start() = 0;
  // Blocks until the guest is gone: 0 when it powered off, non-zero on a
  // guest panic or a QEMU failure.
  virtual Result<int> wait() = 0;
  // Asks the guest to power down (ACPI).
  virtual Result<void> powerdown() = 0;
  // Stops QEMU at once.
  virtual Result<void> kill() = 0;
  // Runs one QMP command and returns its "return" value.
  virtual Result<nlohmann::json> qmp(const std::string& command,
                                     const nlohmann::json& args = nlohmann::json::object()) = 0;
};

Result<std::unique_ptr<Vm>> create_vm(const VmConfig& cfg);
// Exit statuses of Vm::wait() besides 0 (powered off).
inline constexpr int kExitQemuFailed = 1;   // QEMU failed or was stopped from the host
inline constexpr int kExitGuestPanic = 2;   // a guest panic, or a reset (-no-reboot; panic=N resets)
// The QEMU command line create_vm would execute (domxml-to-native).
Result<std::vector<std::string>> qemu_argv(const VmConfig& cfg);

}  // namespace dk::vmm
