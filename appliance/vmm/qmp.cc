// QMP is line-delimited JSON: a greeting, then replies ("return"/"error")
// interleaved with asynchronous events ("event").
#include "appliance/vmm/qmp.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

namespace dk::vmm {

namespace {
constexpr size_t kMaxMessage = 16 << 20;  // a QMP reply larger than this is garbage
constexpr int kReplyTimeoutMs = 60000;
}  // namespace

QmpClient::~QmpClient() { close(); }

void QmpClient::close() {
  if (m_fd >= 0) ::close(m_fd);
  m_fd = -1;
}

Result<void> QmpClient::connect(const std::string& path) {
  std::lock_guard lock(m_mutex);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return make_error(ENAMETOOLONG, "'" + path + "': socket path too long");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno_error("socket");
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int e = errno;
    ::close(fd);
    return errno_error("'" + path + "': cannot connect to QMP", e);
  }
  m_fd = fd;
  auto greeting = DK_TRY(read_message(kReplyTimeoutMs));
  if (!greeting || !greeting->contains("QMP")) return make_error(EPROTO, "'" + path + "': no QMP greeting");
  DK_TRY(send({{"execute", "qmp_capabilities"}}));
  for (;;) {
    auto m = DK_TRY(read_message(kReplyTimeoutMs));
    if (!m) return make_error(ETIMEDOUT, "QMP: no reply to qmp_capabilities");
    if (m->contains("event")) { m_events.push_back(std::move(*m)); continue; }
    if (m->contains("error")) return make_error(EPROTO, "QMP: qmp_capabilities failed");
    return {};
  }
}

Result<void> QmpClient::send(const nlohmann::json& msg) {
  std::string s = msg.dump() + "\n";
  size_t done = 0;
  while (done < s.size()) {
    ssize_t n = ::send(m_fd, s.data() + done, s.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("QMP: send");
    done += static_cast<size_t>(n);
  }
  return {};
}

Result<std::optional<nlohmann::json>> QmpClient::read_message(int timeout_ms) {
  if (m_fd < 0) return make_error(EPIPE, "QMP: not connected");
  for (;;) {
    size_t nl = m_buffer.find('\n');
    if (nl != std::string::npos) {
      std::string line = m_buffer.substr(0, nl);
      m_buffer.erase(0, nl + 1);
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object()) return make_error(EPROTO, "QMP: malformed message from QEMU");
      return std::optional<nlohmann::json>(std::move(j));
    }
    if (m_buffer.size() > kMaxMessage) return make_error(EPROTO, "QMP: message too long");
    pollfd p{m_fd, POLLIN, 0};
    int r = ::poll(&p, 1, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return errno_error("QMP: poll");
    if (r == 0) return std::optional<nlohmann::json>();
    char buf[4096];
    ssize_t n = ::read(m_fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("QMP: read");
    if (n == 0) {
      close();
      return make_error(EPIPE, "QMP: QEMU closed the connection");
    }
    m_buffer.append(buf, static_cast<size_t>(n));
  }
}

Result<nlohmann::json> QmpClient::execute(const std::string& command, const nlohmann::json& args) {
  std::lock_guard lock(m_mutex);
  if (m_fd < 0) return make_error(EPIPE, "QMP: not connected");
  nlohmann::json msg = {{"execute", command}};
  if (!args.empty()) msg["arguments"] = args;
  DK_TRY(send(msg));
  for (;;) {
    auto m = DK_TRY(read_message(kReplyTimeoutMs));
    if (!m) return make_error(ETIMEDOUT, "QMP: no reply to " + command);
    if (m->contains("event")) { m_events.push_back(std::move(*m)); continue; }
    if (auto e = m->find("error"); e != m->end()) {
      std::string desc = e->is_object() ? e->value("desc", std::string("error")) : "error";
      return make_error(EIO, "QMP " + command + ": " + desc);
    }
    if (auto r = m->find("return"); r != m->end()) return *r;
    return make_error(EPROTO, "QMP: unexpected reply to " + command);
  }
}

Result<std::optional<nlohmann::json>> QmpClient::next_event(int timeout_ms) {
  std::lock_guard lock(m_mutex);
  if (!m_events.empty()) {
    auto e = std::move(m_events.front());
    m_events.pop_front();
    return std::optional<nlohmann::json>(std::move(e));
  }
  for (;;) {
    auto m = DK_TRY(read_message(timeout_ms));
    if (!m) return std::optional<nlohmann::json>();
    if (m->contains("event")) return m;
    // A stray reply (a command that timed out earlier): drop it.
  }
}

}  // namespace dk::vmm
