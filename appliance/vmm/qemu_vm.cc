// QemuVm: runs qemu-system-x86_64 as a child process. The drives are
// exported by an in-process nbd::Server on a private Unix socket; the
// runner talks QMP on another private socket. Both live in a per-run
// directory made with mkdtemp and removed when the Vm is destroyed.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "appliance/vmm/qemu.h"
#include "appliance/vmm/qmp.h"
#include "formats/driver.h"
#include "nbd/server.h"

namespace dk::vmm {
namespace {

constexpr auto kQmpConnectTimeout = std::chrono::seconds(30);
constexpr auto kIncomingTimeout = std::chrono::minutes(5);
constexpr auto kMigrateTimeout = std::chrono::minutes(5);

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

class QemuVm final : public Vm {
 public:
  explicit QemuVm(VmConfig cfg) : m_cfg(std::move(cfg)) {}
  ~QemuVm() override;
  Result<void> start() override;
  Result<int> wait(int timeout_ms) override;
  Result<void> powerdown() override;
  Result<void> kill() override;
  Result<nlohmann::json> qmp(const std::string& command, const nlohmann::json& args) override;
  Result<void> save_state(const std::string& path) override;
  Result<void> attach_drives(const std::vector<DriveSpec>& drives) override;
  Result<void> resume() override;

 private:
  Result<void> make_run_dir();
  Result<void> start_nbd(const std::vector<DriveSpec>& drives);
  Result<uint64_t> node_size(const std::string& node);
  // Polls query-migrate until it completes; `what` names the job in errors.
  Result<void> wait_migration(const std::string& what, std::chrono::steady_clock::duration limit);
  Result<void> spawn(const std::vector<std::string>& argv);
  Result<void> connect_qmp();
  Result<void> restore_state();
  // Reaps QEMU if it exited (blocking when `block`); true once reaped.
  bool reap(bool block);
  void cleanup();

  VmConfig m_cfg;
  RunPaths m_paths;
  std::unique_ptr<nbd::Server> m_nbd;
  QmpClient m_qmp;
  pid_t m_pid = -1;
  int m_status = 0;  // waitpid status once reaped
  bool m_reaped = false;
  bool m_attached = false;
  bool m_panicked = false;  // events seen by wait()
  std::string m_reason;
  std::vector<std::string> m_overlays;  // throwaway overlay files to remove
};

QemuVm::~QemuVm() {
  if (m_pid > 0 && !m_reaped) {
    ::kill(m_pid, SIGKILL);
    reap(true);
  }
  cleanup();
}

void QemuVm::cleanup() {
  m_qmp.close();
  if (m_nbd) (void)m_nbd->stop();
  m_nbd.reset();
  for (const auto& f : m_overlays) ::unlink(f.c_str());
  m_overlays.clear();
  if (!m_paths.dir.empty()) {
    ::unlink(m_paths.nbd_socket().c_str());
    ::unlink(m_paths.qmp_socket().c_str());
    ::rmdir(m_paths.dir.c_str());
    m_paths.dir.clear();
  }
}

bool QemuVm::reap(bool block) {
  if (m_reaped) return true;
  if (m_pid <= 0) return false;
  for (;;) {
    pid_t r = ::waitpid(m_pid, &m_status, block ? 0 : WNOHANG);
    if (r < 0 && errno == EINTR) continue;
    if (r == m_pid || r < 0) m_reaped = true;  // r < 0: not our child any more
    return m_reaped;
  }
}

Result<void> QemuVm::make_run_dir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/diskit-run.XXXXXX";
  if (!::mkdtemp(tmpl.data())) return errno_error("cannot create a run directory in '" + tmpl + "'");
  m_paths.dir = tmpl;
  return {};
}

Result<void> QemuVm::start_nbd(const std::vector<DriveSpec>& drives) {
  if (drives.empty()) return {};
  std::vector<nbd::ExportSpec> exports;
  for (size_t i = 0; i < drives.size(); ++i) {
    nbd::ExportSpec e;
    e.name = drive_name(i);
    e.image = drives[i].image;
    e.format = drives[i].format;
    e.read_only = drives[i].read_only;
    e.max_clients = 1;
    exports.push_back(std::move(e));
  }
  m_nbd = DK_TRY(nbd::Server::open(std::move(exports)));
  DK_TRY(m_nbd->listen_unix(m_paths.nbd_socket()));
  DK_TRY(m_nbd->start());
  return {};
}

Result<void> QemuVm::spawn(const std::vector<std::string>& argv) {
  // Everything the child needs is prepared before fork: the parent has
  // threads (the NBD server), so the child may only make async-signal-safe calls.
  std::vector<char*> cargv;
  for (const auto& s : argv) cargv.push_back(const_cast<char*>(s.c_str()));
  cargv.push_back(nullptr);
  int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0) return errno_error("/dev/null");
  const bool interactive = m_cfg.interactive_console;
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(devnull);
    return errno_error("fork");
  }
  if (pid == 0) {
    // QEMU must not outlive the runner (a Ctrl-C or a crash of diskit):
    // its disks are served by this process, and nothing else would stop it.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    // Own process group: a Ctrl-C on the terminal reaches only the runner,
    // which asks the guest to power down instead of QEMU dying at once.
    // (An interactive console stays in the terminal's foreground group.)
    if (!interactive) ::setpgid(0, 0);
    sigset_t all;
    sigemptyset(&all);
    ::sigprocmask(SIG_SETMASK, &all, nullptr);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGPIPE, SIG_DFL);
    if (!interactive) ::dup2(devnull, 0);  // an output-only console must not read the tty
    ::execvp(cargv[0], cargv.data());
    const char msg[] = "diskit: run: cannot execute QEMU\n";
    (void)!::write(2, msg, sizeof(msg) - 1);
    ::_exit(127);
  }
  ::close(devnull);
  m_pid = pid;
  return {};
}

Result<void> QemuVm::connect_qmp() {
  auto deadline = std::chrono::steady_clock::now() + kQmpConnectTimeout;
  for (;;) {
    if (reap(false)) {
      int code = WIFEXITED(m_status) ? WEXITSTATUS(m_status) : 128 + WTERMSIG(m_status);
      if (code == 127) return make_error(ENOENT, "cannot execute '" + qemu_binary() + "'");
      return make_error(EIO, "QEMU exited with status " + std::to_string(code) + " before it started");
    }
    auto r = m_qmp.connect(m_paths.qmp_socket());
    if (r) return {};
    if (std::chrono::steady_clock::now() > deadline)
      return make_error(ETIMEDOUT, "QEMU did not open its QMP socket within 30 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

Result<void> QemuVm::wait_migration(const std::string& what, std::chrono::steady_clock::duration limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    auto st = m_qmp.execute("query-migrate");
    // QEMU exits when an incoming state cannot be loaded.
    if (!st) return make_error(EIO, what + " failed (QEMU stopped)");
    std::string s = st->value("status", std::string());
    if (s == "completed") return {};
    if (s == "failed" || s == "cancelled") {
      std::string why = st->value("error-desc", std::string());
      return make_error(EIO, what + " failed" + (why.empty() ? "" : ": " + why));
    }
    if (std::chrono::steady_clock::now() > deadline) return make_error(ETIMEDOUT, what + " timed out");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

Result<void> QemuVm::restore_state() {
  DK_TRY(m_qmp.execute("migrate-incoming", {{"uri", "exec:cat " + shell_quote(m_cfg.incoming_state)}}));
  return wait_migration("'" + m_cfg.incoming_state + "': restoring the saved state", kIncomingTimeout);
}

Result<void> QemuVm::save_state(const std::string& path) {
  if (m_pid <= 0 || m_reaped) return make_error(EINVAL, "the VM is not running");
  DK_TRY(m_qmp.execute("stop"));
  const std::string tmp = path + ".tmp" + std::to_string(::getpid());
  auto write = [&]() -> Result<void> {
    DK_TRY(m_qmp.execute("migrate", {{"uri", "exec:cat > " + shell_quote(tmp)}}));
    DK_TRY(wait_migration("saving the VM state to '" + path + "'", kMigrateTimeout));
    // The state is complete on disk before it gets its name: a crash
    // leaves a stray .tmp file, never a truncated state.
    int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno_error("'" + tmp + "'");
    int rc = ::fsync(fd);
    ::close(fd);
    if (rc != 0) return errno_error("fsync '" + tmp + "'");
    if (::rename(tmp.c_str(), path.c_str()) != 0) return errno_error("rename to '" + path + "'");
    return {};
  };
  auto r = write();
  if (!r) ::unlink(tmp.c_str());
  return r;
}

Result<uint64_t> QemuVm::node_size(const std::string& node) {
  auto nodes = DK_TRY(m_qmp.execute("query-named-block-nodes", {{"flat", true}}));
  for (const auto& n : nodes)
    if (n.is_object() && n.value("node-name", std::string()) == node && n.contains("image") &&
        n["image"].is_object() && n["image"].contains("virtual-size") && n["image"]["virtual-size"].is_number_unsigned())
      return n["image"]["virtual-size"].get<uint64_t>();
  return make_error(EIO, "QEMU does not report the size of '" + node + "'");
}

Result<void> QemuVm::attach_drives(const std::vector<DriveSpec>& drives) {
  if (m_pid <= 0 || m_reaped) return make_error(EINVAL, "the VM is not running");
  if (m_attached || m_nbd) return make_error(EBUSY, "the VM's drives are already attached");
  if (drives.size() > m_cfg.hotplug_slots)
    return make_error(E2BIG, std::to_string(drives.size()) + " disks given, the VM has slots for " +
                                 std::to_string(m_cfg.hotplug_slots));
  m_attached = true;
  DK_TRY(start_nbd(drives));
  const bool ports = machine_has_root_ports(m_cfg.machine);
  for (size_t i = 0; i < drives.size(); ++i) {
    const std::string name = drive_name(i), nbd_node = "nbd-" + name;
    nlohmann::json nbd{{"driver", "nbd"},
                       {"node-name", nbd_node},
                       {"server", {{"type", "unix"}, {"path", m_paths.nbd_socket()}}},
                       {"export", name},
                       {"read-only", drives[i].read_only}};
    DK_TRY(m_qmp.execute("blockdev-add", nbd));
    std::string top = nbd_node;
    if (drives[i].read_only && m_cfg.overlay_read_only) {
      const fmt::FormatDriver* q = fmt::find_driver("qcow2");
      if (!q || !q->create) return make_error(ENOTSUP, "no qcow2 driver for the read-only overlay");
      fmt::CreateSpec spec;
      spec.size = DK_TRY(node_size(nbd_node));
      std::string file = m_paths.dir + "/overlay-" + name + ".qcow2";
      DK_TRY(q->create(file, spec));
      m_overlays.push_back(file);
      top = "overlay-" + name;
      DK_TRY(m_qmp.execute("blockdev-add", {{"driver", "qcow2"},
                                            {"node-name", top},
                                            {"file", {{"driver", "file"}, {"filename", file}}},
                                            {"backing", nbd_node}}));
    }
    nlohmann::json dev{{"driver", "virtio-blk-pci"}, {"drive", top}, {"id", name}, {"serial", "dk" + std::to_string(i)}};
    if (ports) dev["bus"] = hotplug_port(i);
    DK_TRY(m_qmp.execute("device_add", dev));
  }
  return {};
}

Result<void> QemuVm::resume() {
  DK_TRY(m_qmp.execute("cont"));
  return {};
}

Result<void> QemuVm::start() {
  if (m_pid > 0) return make_error(EBUSY, "the VM was already started");
  AccelChoice accel = choose_accel(m_cfg.accel);
  DK_TRY(make_run_dir());
  auto argv = DK_TRY(qemu_argv_at(m_cfg, accel.accel, m_paths));
  if (!m_cfg.hotplug_drives) DK_TRY(start_nbd(m_cfg.drives));
  DK_TRY(spawn(argv));
  DK_TRY(connect_qmp());
  if (!m_cfg.incoming_state.empty()) DK_TRY(restore_state());
  if (m_cfg.hotplug_drives && !m_cfg.drives.empty()) DK_TRY(attach_drives(m_cfg.drives));
  DK_TRY(m_qmp.execute("cont"));
  return {};
}

Result<int> QemuVm::wait(int timeout_ms) {
  if (m_pid <= 0) return make_error(EINVAL, "the VM was not started");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!reap(false)) {
    if (timeout_ms >= 0 && std::chrono::steady_clock::now() > deadline)
      return make_error(ETIMEDOUT, "the VM did not stop within " + std::to_string(timeout_ms) + " ms");
    auto ev = m_qmp.next_event(timeout_ms >= 0 ? std::min(timeout_ms, 200) : 200);
    if (!ev) {
      // QEMU closed QMP: it is exiting.
      reap(true);
      break;
    }
    if (!*ev) continue;
    std::string name = (**ev).value("event", std::string());
    if (name == "GUEST_PANICKED") m_panicked = true;
    if (name == "SHUTDOWN") {
      const auto& data = (**ev)["data"];
      if (data.is_object()) m_reason = data.value("reason", std::string());
    }
  }
  reap(true);
  cleanup();
  bool qemu_ok = WIFEXITED(m_status) && WEXITSTATUS(m_status) == 0;
  if (m_panicked || m_reason == "guest-panic") return kExitGuestPanic;
  if (!qemu_ok) return kExitQemuFailed;
  if (m_reason == "guest-shutdown") return 0;
  if (m_reason == "guest-reset") return kExitGuestPanic;
  return kExitQemuFailed;
}

Result<void> QemuVm::powerdown() {
  DK_TRY(m_qmp.execute("system_powerdown"));
  return {};
}

Result<void> QemuVm::kill() {
  if (m_pid <= 0 || m_reaped) return {};
  if (m_qmp.connected() && m_qmp.execute("quit")) return {};
  if (::kill(m_pid, SIGKILL) != 0 && errno != ESRCH) return errno_error("kill QEMU");
  return {};
}

Result<nlohmann::json> QemuVm::qmp(const std::string& command, const nlohmann::json& args) {
  return m_qmp.execute(command, args);
}

}  // namespace

Result<std::unique_ptr<Vm>> create_qemu_vm(const VmConfig& cfg) {
  if (cfg.kernel.empty()) return make_error(EINVAL, "no kernel given");
  if (::access(cfg.kernel.c_str(), R_OK) != 0) return errno_error("'" + cfg.kernel + "'");
  if (!cfg.initrd.empty() && ::access(cfg.initrd.c_str(), R_OK) != 0) return errno_error("'" + cfg.initrd + "'");
  return std::unique_ptr<Vm>(new QemuVm(cfg));
}

}  // namespace dk::vmm
