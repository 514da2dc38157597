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
  bool console_append = false;    // append to console_path instead of truncating it
  // The console reads this terminal too (diskit rescue): QEMU stays in the
  // foreground process group and ^C stops it, as with -serial stdio.
  bool interactive_console = false;
  std::string qmp_path;           // an extra user-visible QMP socket; empty: none
  std::vector<ChannelSpec> channels;
  std::string incoming_state;     // non-empty: restore this saved state instead of booting
  std::string machine;            // empty: the runner's measured default
  std::string name;               // the guest's name (domain XML), shown by QEMU; may be empty
  // Hot-plug: the drives are not on the command line; start() attaches them
  // over QMP after booting or restoring and before the guest runs, each
  // with serial "dk<N>" (N = its index) so the guest can tell them apart
  // whatever order it probes them in. The command line then depends only on
  // the machine, so a state saved by one run restores in any other.
  bool hotplug_drives = false;
  // Empty PCIe root ports for hot-plugged drives (q35); the most drives
  // attach_drives() can add. Part of the machine: a saved state restores
  // only into the same count.
  unsigned hotplug_slots = 0;
  // Hot-plugged read-only drives get a throwaway qcow2 overlay in the run
  // directory that takes the guest's writes (a journal replay); the NBD
  // export stays read-only, so the image is never written.
  bool overlay_read_only = false;
};

class Vm {
 public:
  virtual ~Vm();
  // Launches the guest; returns once QEMU runs and QMP is connected.
  virtual Result<void> start() = 0;
  // Blocks until the guest is gone: 0 when it powered off, non-zero on a
  // guest panic or a QEMU failure. With timeout_ms >= 0, ETIMEDOUT when
  // QEMU still runs after that long.
  virtual Result<int> wait(int timeout_ms = -1) = 0;
  // Asks the guest to power down (ACPI).
  virtual Result<void> powerdown() = 0;
  // Stops QEMU at once.
  virtual Result<void> kill() = 0;
  // Pauses the guest and saves its state to `path` (QEMU migration into
  // path.tmp, flushed, then renamed); the guest stays paused (resume()).
  virtual Result<void> save_state(const std::string& path) = 0;
  // Hot-plugs drives (needs hotplug_slots) as described at hotplug_drives;
  // at most once per VM, and only while start()'s drive list was empty.
  virtual Result<void> attach_drives(const std::vector<DriveSpec>& drives) = 0;
  // Lets a paused guest run.
  virtual Result<void> resume() = 0;
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
