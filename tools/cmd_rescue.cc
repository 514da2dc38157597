// diskit rescue: virt-rescue — an interactive shell inside the appliance
// with the disks attached (/dev/sda... are the guest's /dev/vda...) and an
// empty /sysroot to mount them on. The guest's serial console is this
// terminal; `exit` powers the appliance off.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "appliance/image/builder.h"
#include "appliance/image/recipe.h"
#include "appliance/vmm/vm.h"
#include "tools/command.h"

namespace dk::tools {
namespace {

struct RescueArgs {
  std::vector<std::string> add;
  bool ro = false;
  std::string format;
};

Result<int> run_rescue(const RescueArgs& a) {
  auto img = DK_TRY(appliance::ensure_image(appliance::BuildOptions{}));
  vmm::VmConfig cfg;
  cfg.kernel = img.image.kernel;
  cfg.initrd = img.image.initrd;
  cfg.append = std::string(appliance::kKernelCmdline) + " diskit.rescue=1";
  cfg.memory_mib = 512;
  cfg.machine = "q35";
  cfg.interactive_console = true;
  // The disks are served by diskit's NBD export, read-only ones read-only
  // end to end.
  for (const auto& d : a.add) cfg.drives.push_back({d, a.format, a.ro});
  auto vm = DK_TRY(vmm::create_vm(cfg));
  DK_TRY(vm->start());
  int code = DK_TRY(vm->wait());
  if (code == vmm::kExitGuestPanic) return make_error(EIO, "the appliance's kernel panicked");
  if (code != 0) return make_error(EIO, "QEMU stopped with a failure");
  return 0;
}

}  // namespace

Command add_rescue(CLI::App& parent) {
  auto a = std::make_shared<RescueArgs>();
  Command c;
  c.app = parent.add_subcommand("rescue", "A shell inside the appliance with the disks attached (virt-rescue)");
  c.app->add_option("-a,--add", a->add, "Attach a disk image (repeatable)")->required();
  c.app->add_flag("--ro", a->ro, "Attach the disks read-only");
  c.app->add_option("--format", a->format, "The images' format (default: probed as qemu-img does)");
  c.run = [a]() -> Result<int> { return run_rescue(*a); };
  return c;
}

}  // namespace dk::tools
