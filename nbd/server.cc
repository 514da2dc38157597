// Server: listening sockets, the accept loop and one thread per client
// (see server.h). The accept loop stops polling the listeners while every
// client slot is taken, so further clients wait in the kernel's backlog
// (as qemu-nbd --shared does) instead of being refused.
#include "nbd/server.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <list>
#include <mutex>
#include <set>
#include <system_error>
#include <thread>

#include "nbd/export.h"
#include "nbd/session.h"
#include "nbd/transport.h"

namespace dk::nbd {

struct Listener {
  int fd = -1;
  std::string unix_path;  // removed on stop
};

struct Client {
  int fd = -1;
  std::thread thread;
  bool done = false;
};

class ServerImpl {
 public:
  std::vector<std::unique_ptr<Export>> exports;
  std::vector<Export*> export_ptrs;
  std::vector<Listener> listeners;
  int wake[2] = {-1, -1};
  unsigned max_connections = 1;
  std::atomic<unsigned> handshake_timeout{10};

  std::atomic<bool> stop_requested{false};
  std::mutex mu;  // clients, active, loop_running, started
  std::condition_variable cv;
  std::list<Client> clients;
  unsigned active = 0;
  bool loop_running = false;
  bool started = false;
  std::thread accept_thread;

  std::mutex stop_mu;
  std::atomic<bool> stopped{false};
  Result<void> stop_result;

  ~ServerImpl() {
    for (int fd : wake)
      if (fd >= 0) ::close(fd);
  }

  void poke() {
    char c = 0;
    // A full pipe already holds a wake-up; nothing is lost.
    [[maybe_unused]] ssize_t n = ::write(wake[1], &c, 1);
  }

  void drain() {
    char buf[64];
    while (::read(wake[0], buf, sizeof buf) > 0) {
    }
  }

  void reap() {
    std::list<Client> finished;
    {
      std::lock_guard lock(mu);
      for (auto it = clients.begin(); it != clients.end();) {
        if (it->done)
          finished.splice(finished.end(), clients, it++);
        else
          ++it;
      }
    }
    for (Client& c : finished) {
      c.thread.join();
      ::close(c.fd);
    }
  }

  void serve_client(Client* c) {
    FdTransport t(c->fd, handshake_timeout.load());
    {
      Session s(t, export_ptrs);
      // A client's protocol error only ends that client's connection.
      (void)s.run();
    }
    {
      std::lock_guard lock(mu);
      c->done = true;
      active--;
    }
    poke();
  }

  void accept_one(int lfd) {
    int fd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      // Out of descriptors or memory: the listener stays readable, so back
      // off instead of spinning; EAGAIN/ECONNABORTED just retry.
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      return;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // fails harmlessly on Unix sockets
    std::lock_guard lock(mu);
    Client& c = clients.emplace_back();
    c.fd = fd;
    active++;
    try {
      c.thread = std::thread([this, p = &c] { serve_client(p); });
    } catch (const std::system_error&) {
      // No thread for this client (resource limit): drop it, keep serving.
      ::close(fd);
      clients.pop_back();
      active--;
    }
  }

  void accept_loop() {
    std::vector<pollfd> fds;
    while (!stop_requested.load()) {
      reap();
      fds.clear();
      fds.push_back({wake[0], POLLIN, 0});
      bool room;
      {
        std::lock_guard lock(mu);
        room = active < max_connections;
      }
      if (room)
        for (const Listener& l : listeners) fds.push_back({l.fd, POLLIN, 0});
      int n = ::poll(fds.data(), fds.size(), -1);
      if (n < 0) {
        if (errno != EINTR) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        continue;
      }
      if (fds[0].revents) drain();
      for (size_t i = 1; i < fds.size(); ++i)
        if (fds[i].revents & POLLIN) accept_one(fds[i].fd);
    }
    std::lock_guard lock(mu);
    loop_running = false;
    cv.notify_all();
  }

  Result<void> do_stop() {
    std::lock_guard stop_lock(stop_mu);
    if (stopped) return stop_result;
    stop_requested.store(true);
    poke();
    if (accept_thread.joinable()) accept_thread.join();
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return !loop_running; });
      for (Client& c : clients) ::shutdown(c.fd, SHUT_RDWR);
    }
    for (Client& c : clients) {
      c.thread.join();
      ::close(c.fd);
    }
    clients.clear();
    for (Listener& l : listeners) {
      ::close(l.fd);
      if (!l.unix_path.empty()) ::unlink(l.unix_path.c_str());
    }
    listeners.clear();
    for (auto& e : exports) {
      auto r = e->close();
      if (!r && stop_result) stop_result = make_error(r.error());
    }
    stopped = true;
    return stop_result;
  }
};

Server::Server(std::unique_ptr<ServerImpl> impl) : m_impl(std::move(impl)) {}

Server::~Server() { (void)stop(); }

Result<std::unique_ptr<Server>> Server::open(std::vector<ExportSpec> exports) {
  if (exports.empty()) return make_error(EINVAL, "no export given");
  auto impl = std::make_unique<ServerImpl>();
  std::set<std::string> names;
  impl->max_connections = 0;
  for (const ExportSpec& spec : exports) {
    if (!names.insert(spec.name).second)
      return make_error(EINVAL, "export name '" + spec.name + "' is given twice");
    if (spec.name.size() > kMaxString)
      return make_error(EINVAL, "export name is longer than 4096 bytes");
    auto e = DK_TRY(Export::open(spec));
    impl->export_ptrs.push_back(e.get());
    impl->exports.push_back(std::move(e));
    impl->max_connections += spec.max_clients == 0 ? 1 : spec.max_clients;
  }
  if (::pipe2(impl->wake, O_CLOEXEC | O_NONBLOCK) != 0) return errno_error("creating a pipe");
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Result<void> Server::listen_unix(const std::string& path) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof sa.sun_path)
    return make_error(ENAMETOOLONG, "'" + path + "': socket path is empty or too long");
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  // Replace a stale socket (a previous server's), never any other file.
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      return make_error(EEXIST, "'" + path + "': file exists and is not a socket");
    ::unlink(path.c_str());
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno_error("creating a socket");
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    auto e = errno_error("'" + path + "'");
    ::close(fd);
    return e;
  }
  // Before listen(): nobody can connect until the mode is 0600.
  if (::chmod(path.c_str(), 0600) != 0 || ::listen(fd, 16) != 0) {
    auto e = errno_error("'" + path + "'");
    ::close(fd);
    ::unlink(path.c_str());
    return e;
  }
  m_impl->listeners.push_back({fd, path});
  return {};
}

Result<void> Server::listen_tcp(const std::string& addr, uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string ports = std::to_string(port);
  int rc = ::getaddrinfo(addr.empty() ? nullptr : addr.c_str(), ports.c_str(), &hints, &res);
  if (rc != 0)
    return make_error(EINVAL, "address '" + addr + "': " + ::gai_strerror(rc));
  Result<void> err = make_error(EADDRNOTAVAIL, "address '" + addr + "': no usable address");
  bool any = false;
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ai->ai_family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd, 16) != 0) {
      err = errno_error("cannot listen on " + addr + " port " + ports);
      ::close(fd);
      continue;
    }
    m_impl->listeners.push_back({fd, ""});
    any = true;
  }
  ::freeaddrinfo(res);
  if (!any) return err;
  return {};
}

Result<void> Server::start() {
  std::lock_guard lock(m_impl->mu);
  if (m_impl->started) return make_error(EINVAL, "the server is already running");
  if (m_impl->stopped) return make_error(EINVAL, "the server was stopped");
  if (m_impl->listeners.empty()) return make_error(EINVAL, "the server listens on no socket");
  m_impl->started = true;
  m_impl->loop_running = true;
  m_impl->accept_thread = std::thread([impl = m_impl.get()] { impl->accept_loop(); });
  return {};
}

Result<void> Server::serve_forever() {
  {
    std::lock_guard lock(m_impl->mu);
    if (m_impl->started) return make_error(EINVAL, "the server is already running");
    if (m_impl->stopped) return make_error(EINVAL, "the server was stopped");
    if (m_impl->listeners.empty()) return make_error(EINVAL, "the server listens on no socket");
    m_impl->started = true;
    m_impl->loop_running = true;
  }
  m_impl->accept_loop();
  return stop();
}

Result<void> Server::stop() { return m_impl->do_stop(); }

void Server::request_stop() {
  m_impl->stop_requested.store(true);
  m_impl->poke();
}

void Server::set_handshake_timeout(unsigned seconds) { m_impl->handshake_timeout.store(seconds); }

unsigned Server::client_count() const {
  std::lock_guard lock(m_impl->mu);
  return m_impl->active;
}

}  // namespace dk::nbd
