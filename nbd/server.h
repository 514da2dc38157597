// dk::nbd::Server: an NBD (Network Block Device) server exporting images
// opened through formats/ (backing chains, every format diskit reads).
//
// Protocol: fixed newstyle handshake, structured replies, base:allocation
// meta context; see nbd/protocol.h for the wire constants and
// nbd/session.h for one client's state machine.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "formats/core/error.h"

namespace dk::nbd {

struct ExportSpec {
  std::string name;            // NBD export name; "" is the default export
  std::string description;
  std::string image;           // path of the image (backing chain opened like qemu-img does)
  std::string format;          // "" = probe, as qemu-img
  bool read_only = false;
  unsigned max_clients = 1;    // --shared N
  bool force_share = false;    // -U: open read-only despite other writers (needs read_only)
};

class ServerImpl;

class Server {
 public:
  // Opens and locks every image (like QEMU: shared lock read-only, exclusive
  // read-write). Fails with the first image that cannot be opened.
  static Result<std::unique_ptr<Server>> open(std::vector<ExportSpec> exports);

  // Creates a listening Unix socket at path (mode 0600); an existing socket
  // file at path is replaced. May be called before start() several times.
  Result<void> listen_unix(const std::string& path);
  // Listens on addr:port (IPv4 or IPv6 literal, or a host name).
  Result<void> listen_tcp(const std::string& addr, uint16_t port);

  // Accepts and serves on background threads; returns at once.
  Result<void> start();
  // Like start(), but blocks until stop() is called from another thread
  // (diskit serve calls stop() on SIGINT/SIGTERM via request_stop()).
  Result<void> serve_forever();
  // Idempotent: stops accepting, drops clients, flushes and closes the
  // images, removes Unix socket files. Returns the first flush error.
  Result<void> stop();
  // Async-signal-safe: wakes serve_forever(), which then calls stop().
  void request_stop();

  // Drops clients that have not finished the handshake after this many
  // seconds (default 10, as qemu-nbd's --handshake-limit; 0: no limit).
  // Applies to clients accepted afterwards.
  void set_handshake_timeout(unsigned seconds);

  // Number of clients connected right now (for tests).
  unsigned client_count() const;

  ~Server();  // calls stop()

 private:
  explicit Server(std::unique_ptr<ServerImpl> impl);
  std::unique_ptr<ServerImpl> m_impl;
};

}  // namespace dk::nbd
