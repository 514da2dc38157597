// Appliance::launch until dk::vmm::create_vm lands: QEMU (TCG) is started
// directly with the appliance's kernel and initrd, the disks as virtio-blk
// (read-only ones under a throwaway overlay, snapshot=on) and the agent's virtio-serial port on a
// unix socket. Replace with create_vm when the VM runner is merged.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "appliance/host/appliance.h"
#include "appliance/image/builder.h"
#include "appliance/image/recipe.h"
#include "appliance/proto/frame.h"

namespace dk::appliance {
namespace {

using nlohmann::json;

class QemuAppliance : public Appliance {
 public:
  ~QemuAppliance() override { (void)shutdown(); }

  Result<void> start(const LaunchOptions& o) {
    auto img = DK_TRY(ensure_image(BuildOptions{}));
    const char* tmp = std::getenv("TMPDIR");
    std::string base = std::string(tmp && *tmp ? tmp : "/tmp") + "/dk-appliance-XXXXXX";
    std::vector<char> tmpl(base.begin(), base.end());
    tmpl.push_back('\0');
    if (!::mkdtemp(tmpl.data())) return errno_error("mkdtemp");
    m_dir = tmpl.data();
    m_sock = m_dir + "/agent.sock";
    std::vector<std::string> argv = {"qemu-system-x86_64", "-machine", "q35,accel=tcg", "-m", "512",
                                     "-nodefaults", "-display", "none", "-no-reboot",
                                     "-kernel", img.image.kernel, "-initrd", img.image.initrd,
                                     "-append", kKernelCmdline, "-serial",
                                     o.verbose ? "stdio" : "file:" + m_dir + "/console.log"};
    int n = 0;
    for (const auto& d : o.drives) {
      std::string id = "d" + std::to_string(n++);
      // QEMU's option syntax: a ',' inside a value is written ",,".
      auto esc = [](const std::string& v) {
        std::string o;
        for (char c : v) o += c == ',' ? std::string(",,") : std::string(1, c);
        return o;
      };
      std::string drive =
          "file=" + esc(d.image) + ",if=none,id=" + id + (d.format.empty() ? "" : ",format=" + esc(d.format));
      // A read-only disk is never opened for writing: snapshot=on puts a
      // throwaway qcow2 overlay over it (QEMU opens the image itself
      // read-only, as the overlay's backing file), so the guest can still
      // replay a journal or an xfs log to mount it, and the image stays
      // byte-identical.
      if (d.read_only) drive += ",snapshot=on";
      argv.insert(argv.end(), {"-drive", drive, "-device", "virtio-blk-pci,drive=" + id});
    }
    argv.insert(argv.end(), {"-device", "virtio-serial-pci", "-chardev",
                             "socket,id=agent,path=" + m_sock + ",server=on,wait=off", "-device",
                             "virtserialport,chardev=agent,name=org.diskit.agent"});
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    m_pid = ::fork();
    if (m_pid < 0) return errno_error("fork");
    if (m_pid == 0) {
      // QEMU's stdout carries the console with -v: it goes to our stderr,
      // never into the output of the command the user runs.
      int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, 0);
      ::dup2(o.verbose ? 2 : null, 1);
      ::execvp(args[0], args.data());
      std::fprintf(stderr, "diskit: qemu-system-x86_64: %s\n", std::strerror(errno));
      ::_exit(127);
    }
    return connect_and_wait();
  }

  Result<json> call(std::string_view op, const json& args) override {
    return exchange(op, args, nullptr, nullptr);
  }
  Result<json> call_upload(std::string_view op, const json& args,
                           std::function<Result<size_t>(std::span<std::byte>)> source) override {
    return exchange(op, args, &source, nullptr);
  }
  Result<json> call_download(std::string_view op, const json& args,
                             std::function<Result<void>(std::span<const std::byte>)> sink) override {
    return exchange(op, args, nullptr, &sink);
  }

  Result<void> shutdown() override {
    if (m_pid <= 0) return {};
    Result<void> out;
    if (m_ch) {
      auto r = call("shutdown", json::object());
      if (!r) out = make_error(r.error());
    }
    // The guest powers off after the agent ends; give it a moment.
    for (int i = 0; i < 300; ++i) {
      int st;
      if (::waitpid(m_pid, &st, WNOHANG) == m_pid) {
        m_pid = 0;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (m_pid > 0) {
      ::kill(m_pid, SIGKILL);
      ::waitpid(m_pid, nullptr, 0);
      m_pid = 0;
    }
    if (m_fd >= 0) ::close(m_fd);
    m_fd = -1;
    m_ch.reset();
    ::unlink(m_sock.c_str());
    ::unlink((m_dir + "/console.log").c_str());
    ::rmdir(m_dir.c_str());
    return out;
  }

 private:
  Result<void> connect_and_wait() {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (m_fd < 0) {
      if (std::chrono::steady_clock::now() > deadline) return make_error(ETIMEDOUT, "QEMU did not start");
      int st;
      if (::waitpid(m_pid, &st, WNOHANG) == m_pid) {
        m_pid = 0;
        return make_error(EIO, "QEMU exited before the appliance started");
      }
      int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_un sa{};
      sa.sun_family = AF_UNIX;
      std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", m_sock.c_str());
      if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) {
        m_fd = fd;
      } else {
        ::close(fd);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    m_ch = std::make_unique<proto::Channel>(m_fd, m_fd);
    // The port exists before the agent reads it: ping until one answers
    // (unanswered pings are answered later and skipped by id).
    while (std::chrono::steady_clock::now() < deadline) {
      uint64_t id = m_next_id++;
      DK_TRY(m_ch->write_json({{"id", id}, {"op", "ping"}}));
      if (DK_TRY(m_ch->readable(500))) {
        return {};
      }
      int st;
      if (::waitpid(m_pid, &st, WNOHANG) == m_pid) {
        m_pid = 0;
        return make_error(EIO, "the appliance stopped before its agent answered");
      }
    }
    return make_error(ETIMEDOUT, "the appliance's agent did not answer within 120 s");
  }

  Result<json> exchange(std::string_view op, const json& args,
                        std::function<Result<size_t>(std::span<std::byte>)>* source,
                        std::function<Result<void>(std::span<const std::byte>)>* sink) {
    if (!m_ch) return make_error(ENOTCONN, std::string(op) + ": the appliance is not running");
    uint64_t id = m_next_id++;
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
    for (;;) {
      proto::Frame f = DK_TRY(m_ch->read());
      if (f.kind == proto::FrameKind::Data) {
        if (f.id == id && sink) DK_TRY((*sink)(std::as_bytes(std::span(f.body))));
        continue;
      }
      if (f.kind != proto::FrameKind::Json) continue;
      json m = json::parse(f.body, nullptr, false);
      if (!m.is_object() || m.value("id", json()) != json(id) || m.contains("progress")) continue;
      if (auto e = m.find("error"); e != m.end() && e->is_object())
        return make_error(e->value("errno", EIO), e->value("message", std::string(op) + ": failed"));
      return m.value("result", json());
    }
  }

  pid_t m_pid = 0;
  int m_fd = -1;
  std::string m_dir, m_sock;
  std::unique_ptr<proto::Channel> m_ch;
  uint64_t m_next_id = 1;
};

}  // namespace

Result<std::unique_ptr<Appliance>> Appliance::launch(const LaunchOptions& o) {
  auto a = std::make_unique<QemuAppliance>();
  DK_TRY(a->start(o));
  return std::unique_ptr<Appliance>(std::move(a));
}

}  // namespace dk::appliance
