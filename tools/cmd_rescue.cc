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
  std::vector<std::string> argv = {"qemu-system-x86_64", "-machine", "q35,accel=tcg", "-m", "512",
                                   "-nodefaults", "-display", "none", "-no-reboot",
                                   "-kernel", img.image.kernel, "-initrd", img.image.initrd,
                                   "-append", std::string(appliance::kKernelCmdline) + " diskit.rescue=1",
                                   "-serial", "stdio"};
  int n = 0;
  for (const auto& d : a.add) {
    std::string id = "d" + std::to_string(n++);
    std::string drive = "file=" + d + ",if=none,id=" + id + (a.format.empty() ? "" : ",format=" + a.format);
    if (a.ro) drive += ",readonly=on";
    argv.insert(argv.end(), {"-drive", drive, "-device", "virtio-blk-pci,drive=" + id});
  }
  std::vector<char*> args;
  for (auto& s : argv) args.push_back(s.data());
  args.push_back(nullptr);
  std::fflush(stdout);
  ::execvp(args[0], args.data());
  return make_error(errno, std::string("qemu-system-x86_64: ") + std::strerror(errno));
}

}  // namespace

Command add_rescue(CLI::App& parent) {
  auto a = std::make_shared<RescueArgs>();
  Command c;
  c.app = parent.add_subcommand("rescue", "A shell inside the appliance with the disks attached (virt-rescue)");
  c.app->add_option("-a,--add", a->add, "Attach a disk image (repeatable)")->required();
  c.app->add_flag("--ro", a->ro, "Attach the disks read-only");
  c.app->add_option("--format", a->format, "The images' format (default: probed by QEMU)");
  c.run = [a]() -> Result<int> { return run_rescue(*a); };
  return c;
}

}  // namespace dk::tools
