// diskit serve: export one image over NBD (like qemu-nbd --persistent),
// on a Unix socket or a TCP port (loopback by default). Runs in the
// foreground until SIGINT or SIGTERM, then flushes and exits 0.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <string>

#include "nbd/server.h"
#include "tools/command.h"
#include "tools/image_args.h"

namespace dk::tools {
namespace {

constexpr uint16_t kDefaultPort = 10809;  // IANA's NBD port

struct ServeOptions {
  std::string socket;
  int port = -1;
  std::string bind;
  bool read_only = false;
  bool force_share = false;
  std::string format;
  std::string export_name;
  std::string description;
  int shared = 1;
  int handshake_limit = 10;
  std::string pid_file;
  std::string filename;
};

std::atomic<nbd::Server*> g_server{nullptr};

void on_signal(int) {
  if (nbd::Server* s = g_server.load()) s->request_stop();
}

Result<void> write_pid_file(const std::string& path) {
  std::ofstream f(path, std::ios::trunc);
  if (f) f << ::getpid() << '\n';
  if (!f || !f.flush()) return errno_error("'" + path + "': cannot write the pid file");
  return {};
}

Result<int> run_serve(const ServeOptions& o) {
  if (o.filename.empty()) return make_error(EINVAL, "Expecting one image file name");
  if (!o.socket.empty() && (o.port >= 0 || !o.bind.empty()))
    return make_error(EINVAL, "--socket cannot be combined with --port or --bind");
  if (o.port > 65535 || (o.port < 0 && o.port != -1))
    return make_error(EINVAL, "Invalid port number '" + std::to_string(o.port) + "'");
  if (o.shared < 1) return make_error(EINVAL, "--shared must be at least 1");
  if (o.handshake_limit < 0) return make_error(EINVAL, "--handshake-limit must not be negative");

  nbd::ExportSpec spec;
  spec.name = o.export_name;
  spec.description = o.description;
  spec.image = o.filename;
  spec.format = o.format;
  spec.read_only = o.read_only;
  spec.force_share = o.force_share;
  spec.max_clients = static_cast<unsigned>(o.shared);
  auto server = DK_TRY(nbd::Server::open({spec}));
  server->set_handshake_timeout(static_cast<unsigned>(o.handshake_limit));
  if (!o.socket.empty()) {
    DK_TRY(server->listen_unix(o.socket));
  } else {
    uint16_t port = o.port < 0 ? kDefaultPort : static_cast<uint16_t>(o.port);
    DK_TRY(server->listen_tcp(o.bind.empty() ? "127.0.0.1" : o.bind, port));
  }
  // Written once the sockets accept connections, so waiting for it is a
  // readiness check.
  if (!o.pid_file.empty()) DK_TRY(write_pid_file(o.pid_file));

  g_server.store(server.get());
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  struct sigaction old_int {}, old_term {};
  ::sigaction(SIGINT, &sa, &old_int);
  ::sigaction(SIGTERM, &sa, &old_term);
  ::signal(SIGPIPE, SIG_IGN);
  auto r = server->serve_forever();
  g_server.store(nullptr);
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGTERM, &old_term, nullptr);
  if (!o.pid_file.empty()) ::unlink(o.pid_file.c_str());
  if (!r) return make_error(r.error());
  return 0;
}

}  // namespace

Command add_serve(CLI::App& parent) {
  auto o = std::make_shared<ServeOptions>();
  Command c;
  c.app = parent.add_subcommand("serve", "Export a disk image over NBD");
  c.app->add_option("-k,--socket", o->socket, "Listen on this Unix socket (created with mode 0600)");
  c.app->add_option("-p,--port", o->port, "Listen on this TCP port (default 10809)");
  c.app->add_option("-b,--bind", o->bind, "Address to listen on with --port (default 127.0.0.1)");
  c.app->add_flag("-r,--ro,--read-only", o->read_only, "Export read-only (writes fail with EPERM)");
  c.app->add_flag("-U,--force-share", o->force_share, "With --ro: open the image even if another process writes it");
  c.app->add_option("-f,--format", o->format, "Image format (probed when omitted)");
  c.app->add_option("-x,--export-name", o->export_name, "NBD export name (default: empty)");
  c.app->add_option("-D,--description", o->description, "Export description shown to clients");
  c.app->add_option("-e,--shared", o->shared, "Serve up to N clients at once (default 1)");
  c.app->add_option("--handshake-limit", o->handshake_limit,
                    "Drop clients that take longer than N seconds to connect (default 10, 0: never)");
  c.app->add_option("--pid-file", o->pid_file, "Write the process id here once listening");
  c.app->add_option("filename", o->filename, "Image file");
  c.run = [o]() -> Result<int> { return run_serve(*o); };
  return c;
}

}  // namespace dk::tools
