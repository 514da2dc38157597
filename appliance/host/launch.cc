// Appliance::launch: the appliance runs on the VM runner (appliance/vmm),
// its disks hot-plugged over QMP and served by the runner's in-process NBD
// export (read-only ones under a throwaway overlay), the agent on a
// virtio-serial port.
//
// The first launch boots the appliance without disks, saves its state in
// the image cache once the agent answers, then hot-plugs the disks and
// goes on. Later launches restore that state instead of booting (see
// saved_state.h). Either way the host then sends the agent "resume": the
// time, fresh entropy, and the number of disks to wait for.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "appliance/host/appliance.h"
#include "appliance/host/saved_state.h"
#include "appliance/image/builder.h"
#include "appliance/image/recipe.h"
#include "appliance/proto/frame.h"
#include "appliance/vmm/vm.h"

namespace dk::appliance {
namespace {

using nlohmann::json;

std::atomic<bool> g_cancel{false};
// A request was made since reset_cancel() (a command's transfer makes
// many, with host work between them).
std::atomic<bool> g_in_flight{false};

// Disks one appliance can take (PCIe root ports in the saved machine).
constexpr unsigned kMaxDisks = 16;
constexpr auto kBootTimeout = std::chrono::seconds(120);
constexpr auto kRestoreTimeout = std::chrono::seconds(30);

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

Result<std::string> random_hex(size_t n) {
  std::vector<unsigned char> b(n);
  int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_error("/dev/urandom");
  ssize_t got = ::read(fd, b.data(), n);
  ::close(fd);
  if (got != static_cast<ssize_t>(n)) return make_error(EIO, "/dev/urandom: short read");
  std::string out;
  static const char* digits = "0123456789abcdef";
  for (unsigned char c : b) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

// The machine every launch uses; drives and paths are filled in later.
vmm::VmConfig base_config(const ApplianceImage& img) {
  vmm::VmConfig cfg;
  cfg.kernel = img.kernel;
  cfg.initrd = img.initrd;
  cfg.append = kKernelCmdline;
  cfg.memory_mib = 512;
  cfg.machine = "q35";
  cfg.accel = vmm::Accel::Auto;
  cfg.channels.push_back({"org.diskit.agent", ""});
  cfg.hotplug_drives = true;
  cfg.hotplug_slots = kMaxDisks;
  cfg.overlay_read_only = true;
  return cfg;
}

std::string state_file(const ApplianceImage& img, const vmm::VmConfig& cfg) {
  return saved_state_path(img.dir, cfg, read_file(img.dir + "/key.json"));
}

class VmAppliance : public Appliance {
 public:
  ~VmAppliance() override {
    (void)shutdown();
    if (!m_dir.empty()) {
      ::unlink(m_sock.c_str());
      ::unlink((m_dir + "/console.log").c_str());
      ::rmdir(m_dir.c_str());
    }
  }

  Result<void> start(const LaunchOptions& o) {
    if (o.drives.size() > kMaxDisks)
      return make_error(E2BIG, "the appliance takes at most " + std::to_string(kMaxDisks) + " disks");
    auto img = DK_TRY(ensure_image(BuildOptions{}));
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/dk-appliance-XXXXXX";
    if (!::mkdtemp(tmpl.data())) return errno_error("cannot create a directory in '" + tmpl + "'");
    m_dir = tmpl;
    m_sock = m_dir + "/agent.sock";

    vmm::VmConfig cfg = base_config(img.image);
    // -v: the guest's console on stderr, never in the command's output.
    cfg.console_path = o.verbose ? "/dev/stderr" : m_dir + "/console.log";
    cfg.console_append = true;
    cfg.channels[0].socket_path = m_sock;
    std::vector<vmm::DriveSpec> drives;
    for (const auto& d : o.drives) drives.push_back({d.image, d.format, d.read_only});

    const std::string state = state_file(img.image, cfg);
    auto t0 = std::chrono::steady_clock::now();
    if (saved_states_enabled() && ::access(state.c_str(), R_OK) == 0) {
      cfg.incoming_state = state;
      cfg.drives = drives;
      auto r = launch(cfg, kRestoreTimeout);
      if (r) {
        m_how = "restored";
      } else {
        // A state QEMU cannot load (a changed host, a damaged file) is
        // dropped and the appliance boots instead.
        if (o.verbose) std::fprintf(stderr, "diskit: saved appliance state unusable (%s): booting\n", r.error().message.c_str());
        stop_vm();
        ::unlink(state.c_str());
      }
    }
    if (!m_vm) {
      cfg.incoming_state.clear();
      cfg.drives.clear();
      DK_TRY(launch(cfg, kBootTimeout));
      if (saved_states_enabled()) {
        remove_stale_states(img.image.dir, state);
        auto s = m_vm->save_state(state);
        if (!s && o.verbose) std::fprintf(stderr, "diskit: cannot save the appliance state: %s\n", s.error().message.c_str());
      }
      DK_TRY(m_vm->attach_drives(drives));
      DK_TRY(m_vm->resume());
      m_how = "booted";
    }
    auto r = call("resume", {{"time_ns", std::chrono::duration_cast<std::chrono::nanoseconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count()},
                             {"entropy", DK_TRY(random_hex(64))},
                             {"disks", drives.size()}});
    if (!r) return make_error(r.error().with_context("the appliance did not see its disks"));
    m_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (o.verbose) std::fprintf(stderr, "diskit: appliance %s and ready in %.2f s\n", m_how.c_str(), m_seconds);
    return {};
  }

  LaunchReport report() const override { return {m_how, m_seconds}; }

  Result<json> call(std::string_view op, const json& args) override { return exchange(op, args, nullptr, nullptr); }
  Result<json> call_upload(std::string_view op, const json& args,
                           std::function<Result<size_t>(std::span<std::byte>)> source) override {
    return exchange(op, args, &source, nullptr);
  }
  Result<json> call_download(std::string_view op, const json& args,
                             std::function<Result<void>(std::span<const std::byte>)> sink) override {
    return exchange(op, args, nullptr, &sink);
  }

  Result<void> shutdown() override {
    if (!m_vm) return {};
    Result<void> out;
    if (m_ch) {
      auto r = call("shutdown", json::object());
      if (!r) out = make_error(r.error());
    }
    // The guest powers off once the agent ends.
    if (!m_vm->wait(10000)) (void)m_vm->kill();
    stop_vm();
    return out;
  }

 private:
  void stop_vm() {
    if (m_fd >= 0) ::close(m_fd);
    m_fd = -1;
    m_ch.reset();
    if (m_vm) {
      (void)m_vm->kill();
      (void)m_vm->wait(5000);
    }
    m_vm.reset();
  }

  Result<void> launch(const vmm::VmConfig& cfg, std::chrono::seconds limit) {
    m_vm = DK_TRY(vmm::create_vm(cfg));
    DK_TRY(m_vm->start());
    return connect_agent(limit);
  }

  Result<void> connect_agent(std::chrono::seconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (m_fd < 0) {
      if (std::chrono::steady_clock::now() > deadline) return make_error(ETIMEDOUT, "the appliance's agent port did not open");
      int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_un sa{};
      sa.sun_family = AF_UNIX;
      std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", m_sock.c_str());
      if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) {
        m_fd = fd;
      } else {
        ::close(fd);
        if (auto w = m_vm->wait(20); w) return make_error(EIO, "the appliance stopped before its agent started");
      }
    }
    m_ch = std::make_unique<proto::Channel>(m_fd, m_fd);
    // The port exists before the agent reads it: ping until one answers.
    // Unanswered pings are answered later; replies to other ids are
    // skipped. After the first answer the line is drained, so a state
    // saved now holds no half-sent reply.
    while (std::chrono::steady_clock::now() < deadline) {
      DK_TRY(m_ch->write_json({{"id", m_next_id++}, {"op", "ping"}}));
      if (DK_TRY(m_ch->readable(300))) {
        while (DK_TRY(m_ch->readable(50))) DK_TRY(m_ch->read());
        return {};
      }
      if (auto w = m_vm->wait(0); w) return make_error(EIO, "the appliance stopped before its agent answered");
    }
    return make_error(ETIMEDOUT, "the appliance's agent did not answer within " + std::to_string(limit.count()) + " s");
  }

  Result<json> exchange(std::string_view op, const json& args,
                        std::function<Result<size_t>(std::span<std::byte>)>* source,
                        std::function<Result<void>(std::span<const std::byte>)>* sink) {
    if (!m_ch) return make_error(ENOTCONN, std::string(op) + ": the appliance is not running");
    uint64_t id = m_next_id++;
    // A cancel stays asked for until reset_cancel(): the requests a
    // chunked transfer still has to make fail at once.
    if (g_cancel.load()) return make_error(ECANCELED, std::string(op) + ": cancelled");
    g_in_flight.store(true);
    json req{{"id", id}, {"op", op}, {"args", args.is_null() ? json::object() : args}};
    if (source) req["upload"] = true;
    DK_TRY(m_ch->write_json(req));
    if (source) {
      std::vector<std::byte> buf(proto::kChunk);
      for (;;) {
        size_t n = DK_TRY((*source)(buf));
        if (n == 0) break;
        DK_TRY(m_ch->write_data(id, std::span<const std::byte>(buf.data(), n)));
      }
      DK_TRY(m_ch->write_data(id, {}));
    }
    bool cancel_sent = false;
    for (;;) {
      // Checked between frames too: a download streams without pause.
      if (!cancel_sent && g_cancel.load()) {
        DK_TRY(m_ch->write_json({{"id", id}, {"cancel", true}}));
        cancel_sent = true;
      }
      if (!DK_TRY(m_ch->readable(100))) continue;
      proto::Frame f = DK_TRY(m_ch->read());
      if (f.kind == proto::FrameKind::Data) {
        if (f.id == id && sink) DK_TRY((*sink)(std::as_bytes(std::span(f.body))));
        continue;
      }
      if (f.kind != proto::FrameKind::Json) continue;
      json m = json::parse(f.body, nullptr, false);
      if (!proto::reply_has_id(m, id) || m.contains("progress")) continue;
      if (auto e = m.find("error"); e != m.end()) return make_error(proto::reply_error(*e, std::string(op) + ": failed"));
      auto r = m.find("result");
      return r == m.end() ? json() : *r;
    }
  }

  std::unique_ptr<vmm::Vm> m_vm;
  int m_fd = -1;
  std::string m_dir, m_sock, m_how;
  double m_seconds = 0;
  std::unique_ptr<proto::Channel> m_ch;
  uint64_t m_next_id = 1;
};

}  // namespace

void reset_cancel() {
  g_cancel.store(false);
  g_in_flight.store(false);
}

bool request_cancel() {
  if (!g_in_flight.load()) return false;
  g_cancel.store(true);
  return true;
}

Result<std::pair<std::string, bool>> Appliance::saved_state() {
  if (!saved_states_enabled()) return std::make_pair(std::string(), false);
  const ApplianceImage img = image_in(appliance_dir());
  std::string path = state_file(img, base_config(img));
  return std::make_pair(path, ::access(path.c_str(), R_OK) == 0);
}

Result<std::unique_ptr<Appliance>> Appliance::launch(const LaunchOptions& o) {
  auto a = std::make_unique<VmAppliance>();
  DK_TRY(a->start(o));
  return std::unique_ptr<Appliance>(std::move(a));
}

}  // namespace dk::appliance
