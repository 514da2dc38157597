// diskit run: boot a Linux kernel in a small QEMU VM whose disks are
// served by diskit's own format library (appliance/vmm). Exits 0 when the
// guest powers off, 2 on a guest panic (or reset), 1 when QEMU fails.
// Ctrl-C asks the guest to power down; a second Ctrl-C, or the guest not
// powering down within the grace period, stops QEMU.
#include <unistd.h>
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "appliance/vmm/domain.h"
#include "appliance/vmm/vm.h"
#include "tools/command.h"

namespace dk::tools {
namespace {

constexpr int kGraceSeconds = 10;

struct RunOptions {
  std::string kernel, initrd, append, memory, accel = "auto", console, qmp, domain, machine;
  bool append_set = false;
  unsigned cpus = 0;
  std::vector<std::string> drives;
};

// "file=IMAGE[,format=FMT][,readonly=on]", QEMU style: ",," is a literal comma.
Result<vmm::DriveSpec> parse_drive(const std::string& s) {
  std::vector<std::string> parts(1);
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == ',' && i + 1 < s.size() && s[i + 1] == ',') { parts.back() += ','; ++i; }
    else if (s[i] == ',') parts.emplace_back();
    else parts.back() += s[i];
  }
  vmm::DriveSpec d;
  for (const auto& p : parts) {
    size_t eq = p.find('=');
    std::string key = p.substr(0, eq), value = eq == std::string::npos ? "" : p.substr(eq + 1);
    if (eq == std::string::npos && parts.size() == 1) { d.image = p; continue; }  // a bare file name
    if (key == "file") d.image = value;
    else if (key == "format") d.format = value;
    else if (key == "readonly" && (value == "on" || value == "off")) d.read_only = value == "on";
    else if (key == "if" && value == "virtio") continue;
    else return make_error(EINVAL, "--drive '" + s + "': unsupported option '" + p + "' (file=, format=, readonly=on|off)");
  }
  if (d.image.empty()) return make_error(EINVAL, "--drive '" + s + "': no file= given");
  return d;
}

Result<vmm::Accel> parse_accel(const std::string& s) {
  if (s == "auto") return vmm::Accel::Auto;
  if (s == "kvm") return vmm::Accel::Kvm;
  if (s == "tcg") return vmm::Accel::Tcg;
  return make_error(EINVAL, "--accel must be auto, kvm or tcg, not '" + s + "'");
}

// Builds the VmConfig from --domain (if any) with the command-line options
// on top.
Result<vmm::VmConfig> run_config(const RunOptions& o, bool accel_given) {
  vmm::VmConfig cfg;
  if (!o.domain.empty()) {
    auto dom = DK_TRY(vmm::load_domain_xml(o.domain));
    for (const auto& w : dom.warnings) std::fprintf(stderr, "diskit: warning: '%s': %s\n", o.domain.c_str(), w.c_str());
    cfg = std::move(dom.config);
  }
  if (!o.kernel.empty()) cfg.kernel = o.kernel;
  if (!o.initrd.empty()) cfg.initrd = o.initrd;
  if (o.append_set) cfg.append = o.append;
  if (!o.memory.empty()) cfg.memory_mib = DK_TRY(vmm::parse_memory_mib(o.memory));
  if (o.cpus) cfg.cpus = o.cpus;
  if (accel_given || o.domain.empty()) cfg.accel = DK_TRY(parse_accel(o.accel));
  if (!o.console.empty()) cfg.console_path = o.console;
  if (!o.qmp.empty()) cfg.qmp_path = o.qmp;
  if (!o.machine.empty()) cfg.machine = o.machine;
  for (const auto& d : o.drives) cfg.drives.push_back(DK_TRY(parse_drive(d)));
  if (cfg.kernel.empty()) return make_error(EINVAL, "no kernel: use --kernel or <os><kernel> in --domain");
  // Files QEMU would only complain about after start-up are checked here,
  // so a typo is one line and nothing starts.
  for (const std::string* f : {&cfg.kernel, &cfg.initrd})
    if (!f->empty() && ::access(f->c_str(), R_OK) != 0) return errno_error("'" + *f + "'");
  return cfg;
}

// Waits for SIGINT/SIGTERM (blocked in every thread) and turns the first
// into an ACPI power-down request, the second or a timeout into a stop.
// SIGUSR1 ends the watcher when the run is over.
void watch_signals(vmm::Vm* vm) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR1);
  int sig = 0;
  if (sigwait(&set, &sig) != 0 || sig == SIGUSR1) return;
  std::fprintf(stderr, "diskit: run: asking the guest to power down (stopping it in %d s)\n", kGraceSeconds);
  if (vm->powerdown()) {
    timespec ts{kGraceSeconds, 0};
    siginfo_t info;
    int r = sigtimedwait(&set, &info, &ts);
    if (r == SIGUSR1) return;
    std::fprintf(stderr, "diskit: run: stopping QEMU\n");
  }
  (void)vm->kill();
  sigwait(&set, &sig);  // until the run is over
}

Result<int> run_run(const RunOptions& o, bool accel_given) {
  vmm::VmConfig cfg = DK_TRY(run_config(o, accel_given));
  vmm::AccelChoice choice = vmm::choose_accel(cfg.accel);
  std::fprintf(stderr, "diskit: run: accelerator: %s\n", choice.reason.c_str());
  cfg.accel = choice.accel;
  auto vm = DK_TRY(vmm::create_vm(cfg));

  // Block the signals before any thread starts so they all inherit the mask
  // and only the watcher receives them (QEMU gets a clean mask).
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &set, &old);
  std::thread watcher(watch_signals, vm.get());
  auto finish = [&]() {
    pthread_kill(watcher.native_handle(), SIGUSR1);
    watcher.join();
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
  };
  auto started = vm->start();
  Result<int> code = started ? vm->wait() : Result<int>(make_error(started.error()));
  finish();
  vm.reset();
  if (!code) return make_error(code.error());
  if (*code == vmm::kExitGuestPanic) std::fprintf(stderr, "diskit: run: the guest panicked or reset\n");
  else if (*code != 0) std::fprintf(stderr, "diskit: run: QEMU failed or was stopped\n");
  return *code;
}

void add_vm_options(CLI::App* app, RunOptions& o) {
  app->add_option("--kernel", o.kernel, "Linux kernel (bzImage) to boot");
  app->add_option("--initrd", o.initrd, "Initial ramdisk");
  app->add_option("--append", o.append, "Kernel command line")->each([&o](const std::string&) { o.append_set = true; });
  app->add_option("-m,--memory", o.memory, "Guest memory (MiB, or with a M/G suffix; default 512M)");
  app->add_option("--cpus,--smp", o.cpus, "Number of virtual CPUs (default 1)");
  app->add_option("--drive", o.drives, "file=IMAGE[,format=FMT][,readonly=on]: a virtio disk (repeatable)");
  app->add_option("--accel", o.accel, "auto, kvm or tcg (default auto)");
  app->add_option("--console", o.console, "Write the serial console to FILE instead of stdout");
  app->add_option("--qmp", o.qmp, "Also expose QMP on this Unix socket");
  app->add_option("--machine", o.machine, "QEMU machine type: q35 (default), pc or microvm");
  app->add_option("--domain", o.domain, "libvirt domain XML to take the VM from");
}

}  // namespace

Command add_run(CLI::App& parent) {
  auto o = std::make_shared<RunOptions>();
  Command c;
  c.app = parent.add_subcommand("run", "Boot a kernel in a VM whose disks diskit serves");
  add_vm_options(c.app, *o);
  CLI::App* app = c.app;
  c.run = [o, app]() -> Result<int> { return run_run(*o, app->count("--accel") > 0); };
  return c;
}

}  // namespace dk::tools
