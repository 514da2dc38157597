// The appliance session of diskit fish (see cmd_appliance.h for the rule
// that keeps the shell and the appliance from writing one image at once).
#include "tools/fish/cmd_appliance.h"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include "appliance/host/appliance.h"
#include "appliance/host/fish_ops.h"
#include "formats/driver.h"
#include "fs/mount.h"
#include "fs/probe.h"
#include "tools/fish/shell.h"

namespace dk::tools::fish {
namespace {

struct State {
  AppliancePolicy policy = AppliancePolicy::Auto;
  std::unique_ptr<appliance::Session> session;
  bool hook_installed = false;
  std::map<std::string, std::string> keys;
  bool keys_from_stdin = false;
  bool verbose = false;
};

State& state() {
  static State s;
  return s;
}

// Types the native drivers cannot read but the appliance's kernel can.
bool appliance_type(const std::string& t) {
  return t == "xfs" || t == "btrfs" || t == "ntfs" || t == "exfat";
}

// While the appliance runs it mounts everything (the shell's disks are
// open read-only then); before, it declines and the native drivers answer
// (the mount hook has started it for what they cannot read).
Result<std::unique_ptr<fs::FileSystem>> mount_in_appliance(fs::Guest&, const std::string& device,
                                                           const std::string& probed, const fs::MountOptions& opts);
Result<std::unique_ptr<fs::FileSystem>> mount_remote_fs(const std::string& device, const std::string& probed,
                                                        const fs::MountOptions& opts);

Result<std::unique_ptr<fs::FileSystem>> mount_in_appliance(fs::Guest&, const std::string& device,
                                                           const std::string& probed, const fs::MountOptions& opts) {
  return mount_remote_fs(device, probed, opts);
}

Result<std::unique_ptr<fs::FileSystem>> mount_remote_fs(const std::string& device, const std::string& probed,
                                                        const fs::MountOptions& opts) {
  State& s = state();
  if (!s.session) return make_error(ENOTSUP, "the appliance is not running");
  appliance::RemoteMountOptions o;
  o.device = device;
  o.type = probed;
  o.writable = opts.writable;
  auto r = appliance::mount_remote(*s.session, o);
  // ENOTSUP would read as "not mine" to fs::open_filesystem and hide the
  // appliance's answer behind the native one.
  if (!r) return make_error(r.error().code == ENOTSUP ? EIO : r.error().code, r.error().message);
  return std::unique_ptr<fs::FileSystem>(std::move(*r));
}

// /dev/sdX, /dev/vdX, /dev/hdX with an optional partition number.
bool names_a_disk(const std::string& d) {
  if (d.size() < 8 || d.compare(0, 5, "/dev/") != 0 || (d[5] != 's' && d[5] != 'v' && d[5] != 'h') || d[6] != 'd')
    return false;
  size_t i = 7;
  while (i < d.size() && d[i] >= 'a' && d[i] <= 'z') ++i;
  if (i == 7) return false;
  while (i < d.size() && d[i] >= '0' && d[i] <= '9') ++i;
  return i == d.size();
}

// Shell::mount's hook: start the appliance for a device that needs it.
Result<void> before_mount(Shell& sh, const std::string& device) {
  State& s = state();
  if (s.session || !sh.launched()) return {};
  auto dev = sh.guest().find(device);
  std::string type;
  if (dev) {
    auto layer = sh.guest().open_device(*dev);
    if (!layer) return {};
    auto p = fs::probe_filesystem(**layer);
    if (!p || !appliance_type(p->type)) return {};
    type = p->type;
  } else if (dev.error().code != ENOENT || device.compare(0, 5, "/dev/") != 0 || names_a_disk(device)) {
    return {};  // a typo in a disk name is the native ENOENT, not a reason to boot
  }
  if (s.policy == AppliancePolicy::Never)
    return make_error(ENOTSUP, "'" + device + "'" + (type.empty() ? "" : " (" + type + ")") +
                                   " needs the appliance, which --no-appliance disables");
  return ensure_appliance(sh, "mount");
}

std::vector<appliance::SessionDrive> drives_of(Shell& sh) {
  std::vector<appliance::SessionDrive> out;
  for (const fs::DiskSpec& d : sh.options().disks) out.push_back({d.path, d.format, sh.read_only()});
  return out;
}

}  // namespace

void add_fish_key(const std::string& device, const std::string& key) { state().keys[device] = key; }

std::optional<std::string> fish_key_for(const std::string& device) {
  auto it = state().keys.find(device);
  if (it == state().keys.end()) return std::nullopt;
  return it->second;
}

void set_fish_keys_from_stdin(bool on) { state().keys_from_stdin = on; }
bool fish_keys_from_stdin() { return state().keys_from_stdin; }

void set_appliance_policy(AppliancePolicy p) {
  state().policy = p;
  if (!state().hook_installed) {
    Shell::set_mount_hook(before_mount);
    state().hook_installed = true;
  }
}

AppliancePolicy appliance_policy() { return state().policy; }

void set_appliance_verbose(bool on) { state().verbose = on; }

bool appliance_running() { return state().session != nullptr; }

Result<void> ensure_appliance(Shell& sh, std::string_view why) {
  State& s = state();
  if (s.session) return {};
  if (s.policy == AppliancePolicy::Never)
    return make_error(ENOTSUP, std::string(why) + " needs the appliance (a Linux VM), which --no-appliance disables");
  if (!sh.launched()) return make_error(EINVAL, "call launch before using this function");
  std::fflush(stdout);
  std::fprintf(stderr, "diskit: starting the appliance for %.*s\n",
               static_cast<int>(why.size()), why.data());
  // The rule: flush and close the shell's side first, so the appliance is
  // the only writer; then reopen the shell's view read-only and shared.
  std::vector<Shell::MountRecord> records = DK_TRY(sh.close_disks());
  auto session = appliance::launch_session(drives_of(sh), s.verbose);
  if (!session) {
    // Give the disks back to the shell as they were.
    auto back = sh.reopen_disks(false, records);
    (void)back;
    return make_error(session.error().with_context("starting the appliance"));
  }
  s.session = std::move(*session);
  fs::set_fallback_mounter(mount_in_appliance);
  return sh.reopen_disks(true, std::move(records));
}

Result<nlohmann::json> appliance_call(Shell& sh, std::string_view cmd, const std::string& op,
                                      const nlohmann::json& args, bool changes_disks) {
  // ^C while the appliance starts or the call runs cancels the command
  // (it fails with "cancelled"; in the guest a running tool is stopped)
  // instead of killing the shell with its appliance.
  static volatile sig_atomic_t interrupted;
  interrupted = 0;
  appliance::reset_cancel();
  struct sigaction sa {}, old_sa {};
  sa.sa_handler = [](int) {
    interrupted = 1;
    appliance::request_cancel();
  };
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, &old_sa);
  struct Restore {
    struct sigaction* old;
    ~Restore() { ::sigaction(SIGINT, old, nullptr); }
  } restore{&old_sa};
  DK_TRY(ensure_appliance(sh, cmd));
  if (interrupted) return make_error(ECANCELED, std::string(cmd) + ": cancelled");
  State& s = state();
  auto r = s.session->call(op, args);
  appliance::reset_cancel();  // what follows (the flush) must run
  if (changes_disks) {
    // The guest flushes its writes to the images (sync-all), then the
    // shell rereads the tables through a fresh read-only view.
    auto synced = s.session->call("sync-all", nlohmann::json::object());
    if (!synced && r) return make_error(synced.error());
    auto records = sh.close_disks();
    if (records) {
      auto re = sh.reopen_disks(true, std::move(*records));
      if (!re && r) return make_error(re.error());
    }
  }
  return r;
}

namespace {

std::vector<fs::DiskSpec>& tool_specs() {
  static std::vector<fs::DiskSpec> specs;
  return specs;
}

// Starts the appliance for a one-shot tool (the disks read-only), once.
Result<void> start_tool_session(const std::string& why) {
  State& s = state();
  if (s.session) return {};
  if (s.policy == AppliancePolicy::Never)
    return make_error(ENOTSUP, why + " needs the appliance (a Linux VM), which is disabled");
  std::fprintf(stderr, "diskit: starting the appliance %s\n", why.c_str());
  std::vector<appliance::SessionDrive> drives;
  for (const fs::DiskSpec& d : tool_specs()) drives.push_back({d.path, d.format, true});
  auto session = appliance::launch_session(drives, s.verbose);
  if (!session)
    return make_error(session.error().code == ENOTSUP ? ENOSYS : session.error().code,
                      "starting the appliance: " + session.error().message);
  s.session = std::move(*session);
  // The tools' mounts are gone by then (they live in the tools' run()).
  std::atexit([] { (void)shutdown_appliance(); });
  return {};
}

// Probes a device only the guest can open with the host's own prober, on
// its first 256 KiB read through the agent (a sparse in-memory copy of the
// device's size): the same type, label and UUID as for the host's disks.
Result<fs::ExtraDevice> probe_remote(appliance::Session& session, const std::string& device) {
  std::string head;
  auto r = DK_TRY(session.call_download("read-head", {{"device", device}, {"length", 256 * 1024}}, head));
  int64_t size = r.is_object() && r.contains("size") && r["size"].is_number_integer() ? r["size"].get<int64_t>() : -1;
  if (size < 0 || head.size() > static_cast<size_t>(size)) return make_error(EIO, "'" + device + "': bad read-head reply");
  int fd = ::memfd_create("dk-probe", MFD_CLOEXEC);
  if (fd < 0) return errno_error("memfd_create");
  Result<fs::ExtraDevice> out = fs::ExtraDevice{device, {}, static_cast<uint64_t>(size)};
  if (::ftruncate(fd, size) != 0 || ::pwrite(fd, head.data(), head.size(), 0) != static_cast<ssize_t>(head.size())) {
    out = errno_error("'" + device + "': probe copy");
  } else {
    fmt::OpenOptions oo;
    auto layer = fmt::find_driver("raw")->open("/proc/self/fd/" + std::to_string(fd), oo);
    if (!layer) {
      out = make_error(layer.error());
    } else {
      auto p = fs::probe_filesystem(**layer);
      if (p) out->probe = std::move(*p);
      else out = make_error(p.error());
    }
  }
  ::close(fd);
  return out;
}

// The LVs of a guest whose disks hold a physical volume (fs/mount.h).
Result<std::vector<fs::ExtraDevice>> list_lvs(fs::Guest&) {
  State& s = state();
  if (s.policy == AppliancePolicy::Never) return std::vector<fs::ExtraDevice>{};
  DK_TRY(start_tool_session("to read LVM volumes"));
  auto lvs = DK_TRY(s.session->call("lvs", nlohmann::json::object()));
  std::vector<fs::ExtraDevice> out;
  if (!lvs.is_array()) return make_error(EIO, "lvs: bad reply from the appliance");
  for (const auto& lv : lvs) {
    if (!lv.is_string()) continue;
    out.push_back(DK_TRY(probe_remote(*s.session, lv.get<std::string>())));
  }
  return out;
}

}  // namespace

Result<void> prepare_inspection(Shell& sh) {
  State& s = state();
  if (s.policy == AppliancePolicy::Never || !sh.launched()) return {};
  // Started before inspection walks the guest: starting it reopens the
  // shell's disks, which must not happen under inspection's feet.
  if (!s.session && fs::has_lvm_member(sh.guest())) DK_TRY(ensure_appliance(sh, "inspection of LVM volumes"));
  if (s.session) fs::set_extra_device_lister(list_lvs);
  return {};
}

Result<fs::ProbeResult> appliance_probe(const std::string& device) {
  State& s = state();
  if (!s.session) return make_error(ENOTCONN, "'" + device + "': the appliance is not running");
  return DK_TRY(probe_remote(*s.session, device)).probe;
}

namespace {
struct sigaction g_guard_old;
}  // namespace

InterruptGuard::InterruptGuard() {
  appliance::reset_cancel();
  if (!state().session) return;
  struct sigaction sa {};
  sa.sa_handler = [](int) {
    if (appliance::request_cancel()) return;
    // Nothing to cancel: ^C as before this guard (the default ends the shell).
    ::sigaction(SIGINT, &g_guard_old, nullptr);
    ::raise(SIGINT);
  };
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, &g_guard_old);
  m_installed = true;
}

InterruptGuard::~InterruptGuard() {
  if (m_installed) ::sigaction(SIGINT, &g_guard_old, nullptr);
}

Result<nlohmann::json> tool_appliance_call(const std::string& why, const std::string& op,
                                           const nlohmann::json& args) {
  DK_TRY(start_tool_session(why));
  return state().session->call(op, args);
}

void install_tool_mounter(const std::vector<fs::DiskSpec>& disks) {
  tool_specs() = disks;
  fs::set_fallback_mounter([](fs::Guest&, const std::string& device, const std::string& probed,
                              const fs::MountOptions& opts) -> Result<std::unique_ptr<fs::FileSystem>> {
    State& s = state();
    bool needs = probed.empty() ? !names_a_disk(device) : appliance_type(probed);
    if (!needs || opts.writable || s.policy == AppliancePolicy::Never)
      return make_error(ENOTSUP, "not for the appliance");
    DK_TRY(start_tool_session("to mount " + device));
    return mount_remote_fs(device, probed, opts);
  });
  fs::set_extra_device_lister(list_lvs);
}

Result<void> shutdown_appliance() {
  State& s = state();
  if (!s.session) return {};
  fs::set_fallback_mounter({});
  fs::set_extra_device_lister({});
  appliance::reset_cancel();  // a cancelled command must not stop the clean shutdown
  Result<void> r = s.session->shutdown();
  s.session.reset();
  return r;
}

}  // namespace dk::tools::fish
