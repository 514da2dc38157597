// QEMU command-line construction. The machine is small and fixed: no
// defaults, no VGA, one serial port, virtio-blk disks whose backend is NBD
// over the runner's private socket (QEMU never opens an image file), QMP
// on a private socket, -no-reboot so a guest reboot ends the run.
#include "appliance/vmm/qemu.h"

#include <cstdlib>

namespace dk::vmm {

// q35 over microvm: measured on TCG both boot the Debian kernel in about
// the same time, but microvm has no HPET/PM timer, so the kernel cannot
// calibrate the TSC and hangs unless the command line carries
// tsc_early_khz=; q35 boots any stock kernel unchanged.
const char* const kDefaultMachine = "q35";

std::string drive_name(size_t index) {
  // vda..vdz, vdaa..vdzz as Linux names virtio disks.
  std::string s;
  size_t n = index;
  do {
    s.insert(s.begin(), static_cast<char>('a' + n % 26));
    n = n / 26;
  } while (n-- > 0);
  return "vd" + s;
}

bool machine_has_root_ports(const std::string& machine) {
  const std::string m = machine.empty() ? kDefaultMachine : machine;
  return m == "q35" || m.rfind("pc-q35", 0) == 0;
}

std::string hotplug_port(size_t index) { return "dkport" + std::to_string(index); }

std::string qemu_binary() {
  const char* env = std::getenv("DISKIT_QEMU");
  return env && *env ? env : "qemu-system-x86_64";
}

namespace {

struct Machine {
  std::string arg;         // -machine value
  std::string virtio_bus;  // device suffix: "pci" or "device" (virtio-mmio)
};

Result<Machine> machine_for(const std::string& requested) {
  std::string m = requested.empty() ? kDefaultMachine : requested;
  if (m == "q35" || m.rfind("pc-q35", 0) == 0) return Machine{m, "pci"};
  if (m == "pc" || m.rfind("pc-i440fx", 0) == 0) return Machine{m, "pci"};
  // microvm: virtio-mmio devices described in ACPI (the Debian kernel
  // ignores virtio_mmio.device=), an RTC for the clock.
  if (m == "microvm") return Machine{"microvm,acpi=on,rtc=on", "device"};
  return make_error(EINVAL, "unsupported machine type '" + m + "' (use q35, pc or microvm)");
}

// A value inside a -chardev/-blockdev option list: commas are doubled.
std::string opt_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    out += c;
    if (c == ',') out += ',';
  }
  return out;
}

void add(std::vector<std::string>& v, std::initializer_list<std::string> items) {
  v.insert(v.end(), items);
}

}  // namespace

Result<std::vector<std::string>> qemu_argv_at(const VmConfig& cfg, Accel accel, const RunPaths& paths) {
  if (cfg.kernel.empty()) return make_error(EINVAL, "no kernel given");
  if (cfg.memory_mib < 16) return make_error(EINVAL, "memory must be at least 16 MiB");
  if (cfg.cpus < 1 || cfg.cpus > 255) return make_error(EINVAL, "cpus must be between 1 and 255");
  Machine m = DK_TRY(machine_for(cfg.machine));
  std::vector<std::string> a{qemu_binary()};
  if (!cfg.name.empty()) add(a, {"-name", "guest=" + opt_escape(cfg.name)});
  add(a, {"-machine", m.arg, "-accel", accel == Accel::Kvm ? "kvm" : "tcg"});
  if (accel == Accel::Kvm) add(a, {"-cpu", "host"});
  add(a, {"-m", std::to_string(cfg.memory_mib), "-smp", std::to_string(cfg.cpus)});
  add(a, {"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot"});
  // Paused until the runner's QMP connection is up, so no event is missed.
  add(a, {"-S"});
  add(a, {"-kernel", cfg.kernel});
  if (!cfg.initrd.empty()) add(a, {"-initrd", cfg.initrd});
  if (!cfg.append.empty()) add(a, {"-append", cfg.append});
  if (cfg.interactive_console)
    add(a, {"-chardev", "stdio,id=console0,signal=on"});
  else if (cfg.console_path.empty())
    add(a, {"-chardev", "stdio,id=console0,signal=off"});
  else
    add(a, {"-chardev", "file,id=console0,path=" + opt_escape(cfg.console_path) + (cfg.console_append ? ",append=on" : "")});
  add(a, {"-serial", "chardev:console0"});
  add(a, {"-chardev", "socket,id=qmp0,path=" + opt_escape(paths.qmp_socket()) + ",server=on,wait=off",
          "-mon", "chardev=qmp0,mode=control"});
  if (!cfg.qmp_path.empty())
    add(a, {"-chardev", "socket,id=qmp1,path=" + opt_escape(cfg.qmp_path) + ",server=on,wait=off",
            "-mon", "chardev=qmp1,mode=control"});
  // A guest panic (pvpanic) makes QEMU exit with a failure status.
  if (m.virtio_bus == "pci") add(a, {"-device", "pvpanic"});
  add(a, {"-action", "panic=exit-failure"});
  if (cfg.hotplug_slots) {
    if (m.arg.rfind("microvm", 0) == 0) return make_error(EINVAL, "microvm has no PCI slots for hot-plugged disks");
    if (cfg.hotplug_slots > 30) return make_error(EINVAL, "at most 30 hot-plug slots");
    // q35: one PCIe root port per disk; pc: the disks go on the root bus,
    // which ACPI hot-plug covers without extra devices.
    if (machine_has_root_ports(cfg.machine))
      for (unsigned i = 0; i < cfg.hotplug_slots; ++i)
        add(a, {"-device", "pcie-root-port,id=" + hotplug_port(i) + ",chassis=" + std::to_string(i + 1)});
  }
  for (size_t i = 0; i < cfg.drives.size() && !cfg.hotplug_drives; ++i) {
    const DriveSpec& d = cfg.drives[i];
    std::string name = drive_name(i);
    std::string node = "drive-" + name;
    std::string blockdev = "driver=nbd,node-name=" + node + ",server.type=unix,server.path=" +
                           opt_escape(paths.nbd_socket()) + ",export=" + name;
    if (d.read_only) blockdev += ",read-only=on";
    add(a, {"-blockdev", blockdev, "-device", "virtio-blk-" + m.virtio_bus + ",drive=" + node + ",id=" + name});
  }
  if (!cfg.channels.empty()) add(a, {"-device", "virtio-serial-" + m.virtio_bus + ",id=vser0"});
  for (size_t i = 0; i < cfg.channels.size(); ++i) {
    const ChannelSpec& c = cfg.channels[i];
    std::string id = "channel" + std::to_string(i);
    add(a, {"-chardev", "socket,id=" + id + ",path=" + opt_escape(c.socket_path) + ",server=on,wait=off",
            "-device", "virtserialport,bus=vser0.0,chardev=" + id + ",name=" + opt_escape(c.name)});
  }
  if (!cfg.incoming_state.empty()) add(a, {"-incoming", "defer"});
  return a;
}

}  // namespace dk::vmm
