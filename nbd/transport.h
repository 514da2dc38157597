// Transport: the byte stream one NBD client talks over. A socket in the
// server; an in-memory stream in the fuzz target and unit tests.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "formats/core/error.h"

namespace dk::nbd {

class Transport {
 public:
  virtual ~Transport() = default;
  // Reads exactly out.size() bytes; an error (ECONNRESET for end of stream)
  // when the peer closed or the stream failed.
  virtual Result<void> recv(std::span<std::byte> out) = 0;
  // Sends head then body (body may be empty) completely, as one message
  // where the transport allows.
  virtual Result<void> send(std::span<const std::byte> head, std::span<const std::byte> body = {}) = 0;
  // Called once the handshake is over (the client may idle from now on).
  virtual void begin_transmission() {}
};

// A connected stream socket (Unix or TCP). Does not own the descriptor.
class FdTransport final : public Transport {
 public:
  // With handshake_timeout_s > 0, a client that does not finish the
  // handshake within that many seconds of silence is dropped (recv fails
  // with ETIMEDOUT), so it cannot hold a client slot forever.
  explicit FdTransport(int fd, unsigned handshake_timeout_s = 0);
  Result<void> recv(std::span<std::byte> out) override;
  Result<void> send(std::span<const std::byte> head, std::span<const std::byte> body) override;
  void begin_transmission() override;

 private:
  int m_fd;
};

// Reads from a fixed input, appends everything sent to output (unit tests
// and the fuzz target). Output beyond max_output is dropped.
class MemoryTransport final : public Transport {
 public:
  explicit MemoryTransport(std::span<const std::byte> input, size_t max_output = 1u << 20)
      : m_input(input), m_max_output(max_output) {}
  Result<void> recv(std::span<std::byte> out) override;
  Result<void> send(std::span<const std::byte> head, std::span<const std::byte> body) override;
  const std::vector<std::byte>& output() const { return m_output; }
  size_t consumed() const { return m_pos; }

 private:
  std::span<const std::byte> m_input;
  size_t m_pos = 0;
  size_t m_max_output;
  std::vector<std::byte> m_output;
};

}  // namespace dk::nbd
