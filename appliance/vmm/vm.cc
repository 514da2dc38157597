// Backend-independent parts of the VM runner: the accelerator choice and
// the factory.
#include "appliance/vmm/vm.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "appliance/vmm/qemu.h"

namespace dk::vmm {

Vm::~Vm() = default;

namespace {

// True when /proc/cpuinfo's flags name vmx (Intel VT-x) or svm (AMD-V).
bool cpu_has_hw_virt() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line.substr(line.find(':') + 1));
    std::string w;
    while (words >> w)
      if (w == "vmx" || w == "svm") return true;
  }
  return false;
}

bool kvm_opens() {
  int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

}  // namespace

AccelChoice choose_accel(Accel requested) {
  if (requested == Accel::Kvm) return {Accel::Kvm, "KVM (requested with --accel kvm)"};
  if (requested == Accel::Tcg) return {Accel::Tcg, "TCG (requested with --accel tcg)"};
  bool hw = cpu_has_hw_virt();
  bool kvm = kvm_opens();
  if (hw && kvm) return {Accel::Kvm, "KVM (/dev/kvm opens and the CPU has vmx/svm)"};
  if (kvm)
    return {Accel::Tcg,
            "TCG (/dev/kvm opens but the CPU has no vmx/svm: a software KVM is far slower than TCG)"};
  if (hw) return {Accel::Tcg, "TCG (the CPU has vmx/svm but /dev/kvm cannot be opened)"};
  return {Accel::Tcg, "TCG (no /dev/kvm and no vmx/svm)"};
}

Result<std::unique_ptr<Vm>> create_vm(const VmConfig& cfg) { return create_qemu_vm(cfg); }

Result<std::vector<std::string>> qemu_argv(const VmConfig& cfg) {
  // The private sockets live in a directory made per run by mkdtemp; the
  // template stands for it.
  RunPaths paths{"/tmp/diskit-run.XXXXXX"};
  Accel accel = choose_accel(cfg.accel).accel;
  return qemu_argv_at(cfg, accel, paths);
}

}  // namespace dk::vmm
