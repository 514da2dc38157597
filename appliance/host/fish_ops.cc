#include "appliance/host/fish_ops.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "appliance/host/appliance.h"
#include "appliance/proto/frame.h"

namespace dk::appliance {

Session::~Session() = default;

namespace {

// Errors read "op: message"; the callers name the command themselves, so
// the op's name is dropped.
Error strip_op(std::string_view op, Error e) {
  std::string prefix = std::string(op) + ": ";
  if (e.message.compare(0, prefix.size(), prefix) == 0) e.message.erase(0, prefix.size());
  return e;
}

// The agent's host mode as a session: `diskit-agent --stdio --device
// sda=FILE...` on a pipe pair. Raw files only (the agent works on the
// files themselves); for tests of the fish commands without a VM, chosen
// with DISKIT_APPLIANCE_AGENT=PATH-TO-diskit-agent.
class HostAgentSession : public Session {
 public:
  ~HostAgentSession() override { (void)shutdown(); }

  static Result<std::unique_ptr<Session>> start(const std::string& agent, const std::vector<SessionDrive>& drives) {
    std::vector<std::string> argv = {agent, "--stdio"};
    for (size_t i = 0; i < drives.size(); ++i) {
      if (!drives[i].format.empty() && drives[i].format != "raw")
        return make_error(ENOTSUP, "'" + drives[i].image + "': the agent's host mode serves raw images only");
      std::string name = "sd" + std::string(1, static_cast<char>('a' + i));
      argv.push_back("--device");
      argv.push_back(name + "=" + drives[i].image);
    }
    int to[2], from[2];
    if (pipe2(to, O_CLOEXEC) != 0 || pipe2(from, O_CLOEXEC) != 0) return errno_error("pipe");
    pid_t pid = fork();
    if (pid < 0) return errno_error("fork");
    if (pid == 0) {
      dup2(to[0], 0);
      dup2(from[1], 1);
      std::vector<char*> a;
      for (auto& s : argv) a.push_back(s.data());
      a.push_back(nullptr);
      execv(a[0], a.data());
      _exit(127);
    }
    close(to[0]);
    close(from[1]);
    auto s = std::unique_ptr<HostAgentSession>(new HostAgentSession(pid, from[0], to[1]));
    DK_TRY_CTX(s->call("ping", nlohmann::json::object()), "starting " + agent);
    return std::unique_ptr<Session>(std::move(s));
  }

  Result<nlohmann::json> call(const std::string& op, const nlohmann::json& args) override {
    return request(op, args, nullptr, nullptr);
  }
  Result<nlohmann::json> call_upload(const std::string& op, const nlohmann::json& args,
                                     std::span<const std::byte> data) override {
    return request(op, args, &data, nullptr);
  }
  Result<nlohmann::json> call_download(const std::string& op, const nlohmann::json& args,
                                       std::string& out) override {
    return request(op, args, nullptr, &out);
  }

  Result<void> shutdown() override {
    if (m_pid <= 0) return {};
    ::close(m_out);
    ::close(m_in);
    int st = 0;
    waitpid(m_pid, &st, 0);
    m_pid = -1;
    return {};
  }

 private:
  HostAgentSession(pid_t pid, int in, int out) : m_pid(pid), m_in(in), m_out(out), m_ch(in, out) {}

  Result<nlohmann::json> request(const std::string& op, const nlohmann::json& args,
                                 const std::span<const std::byte>* upload, std::string* download) {
    if (m_pid <= 0) return make_error(EPIPE, "the agent has stopped");
    uint64_t id = ++m_id;
    nlohmann::json req = {{"id", id}, {"op", op}, {"args", args}};
    if (upload) req["upload"] = true;
    DK_TRY(m_ch.write_json(req));
    if (upload) {
      for (size_t off = 0; off < upload->size(); off += proto::kChunk)
        DK_TRY(m_ch.write_data(id, upload->subspan(off, std::min(proto::kChunk, upload->size() - off))));
      DK_TRY(m_ch.write_data(id, {}));
    }
    while (true) {
      proto::Frame f = DK_TRY(m_ch.read());
      if (f.kind == proto::FrameKind::Data) {
        if (f.id == id && download) download->append(f.body);
        continue;
      }
      if (f.kind != proto::FrameKind::Json) return make_error(EPROTO, op + ": bad frame from the agent: " + f.body);
      auto msg = nlohmann::json::parse(f.body, nullptr, false);
      if (!proto::reply_has_id(msg, id) || msg.contains("progress")) continue;
      if (auto e = msg.find("error"); e != msg.end()) return make_error(strip_op(op, proto::reply_error(*e, "failed")));
      auto r = msg.find("result");
      return r == msg.end() ? nlohmann::json() : *r;
    }
  }

  pid_t m_pid;
  int m_in, m_out;
  proto::Channel m_ch;
  uint64_t m_id = 0;
};

// A booted appliance (appliance/host/appliance.h) as a session.
class VmSession : public Session {
 public:
  explicit VmSession(std::unique_ptr<Appliance> a) : m_app(std::move(a)) {}

  Result<nlohmann::json> call(const std::string& op, const nlohmann::json& args) override {
    auto r = m_app->call(op, args);
    if (!r) return make_error(strip_op(op, r.error()));
    return r;
  }

  Result<nlohmann::json> call_upload(const std::string& op, const nlohmann::json& args,
                                     std::span<const std::byte> data) override {
    size_t pos = 0;
    auto source = [&](std::span<std::byte> buf) -> Result<size_t> {
      size_t n = std::min(buf.size(), data.size() - pos);
      if (n) std::memcpy(buf.data(), data.data() + pos, n);
      pos += n;
      return n;
    };
    auto r = m_app->call_upload(op, args, source);
    if (!r) return make_error(strip_op(op, r.error()));
    return r;
  }

  Result<nlohmann::json> call_download(const std::string& op, const nlohmann::json& args,
                                       std::string& out) override {
    auto sink = [&](std::span<const std::byte> d) -> Result<void> {
      out.append(reinterpret_cast<const char*>(d.data()), d.size());
      return {};
    };
    auto r = m_app->call_download(op, args, sink);
    if (!r) return make_error(strip_op(op, r.error()));
    return r;
  }

  Result<void> shutdown() override { return m_app->shutdown(); }

 private:
  std::unique_ptr<Appliance> m_app;
};

}  // namespace

Result<std::unique_ptr<Session>> launch_session(const std::vector<SessionDrive>& drives, bool verbose) {
  if (const char* agent = std::getenv("DISKIT_APPLIANCE_AGENT"); agent && *agent) {
    signal(SIGPIPE, SIG_IGN);
    return HostAgentSession::start(agent, drives);
  }
  LaunchOptions o;
  for (const SessionDrive& d : drives) o.drives.push_back({d.image, d.format, d.read_only});
  o.verbose = verbose;
  auto app = DK_TRY(Appliance::launch(o));
  auto s = std::make_unique<VmSession>(std::move(app));
  // Volume groups on the disks become /dev/VG/LV, as guestfish's launch
  // activates them; without LVM this is a quick no-op.
  auto act = s->call("vg-activate-all", {{"activate", true}});
  (void)act;
  return std::unique_ptr<Session>(std::move(s));
}

}  // namespace dk::appliance
