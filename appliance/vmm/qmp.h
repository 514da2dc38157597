// A small synchronous QMP (QEMU Machine Protocol) client over a Unix
// socket. One command at a time; events that arrive meanwhile are queued
// and handed out by next_event(). Thread-safe: a mutex serializes users, so
// one thread may wait for events while another sends a command.
#pragma once

#include <deque>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "formats/core/error.h"

namespace dk::vmm {

class QmpClient {
 public:
  QmpClient() = default;
  QmpClient(const QmpClient&) = delete;
  QmpClient& operator=(const QmpClient&) = delete;
  ~QmpClient();

  // Connects to the socket, reads the greeting and negotiates capabilities
  // (qmp_capabilities). Fails at once if the socket does not accept.
  Result<void> connect(const std::string& path);
  // Runs one command and returns its "return" value; a QMP error reply
  // becomes an Error with QMP's description.
  Result<nlohmann::json> execute(const std::string& command,
                                 const nlohmann::json& args = nlohmann::json::object());
  // Waits up to timeout_ms for an event. nullopt on timeout; an error with
  // code EPIPE once QEMU closed the connection.
  Result<std::optional<nlohmann::json>> next_event(int timeout_ms);
  bool connected() const { return m_fd >= 0; }
  void close();

 private:
  // Reads one JSON message (one line), waiting up to timeout_ms (-1: no
  // limit). nullopt on timeout.
  Result<std::optional<nlohmann::json>> read_message(int timeout_ms);
  Result<void> send(const nlohmann::json& msg);

  std::mutex m_mutex;
  int m_fd = -1;
  std::string m_buffer;
  std::deque<nlohmann::json> m_events;
};

}  // namespace dk::vmm
