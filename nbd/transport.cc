// Socket and in-memory transports (see transport.h).
#include "nbd/transport.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace dk::nbd {

namespace {
void set_recv_timeout(int fd, unsigned seconds) {
  timeval tv{static_cast<time_t>(seconds), 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}
}  // namespace

FdTransport::FdTransport(int fd, unsigned handshake_timeout_s) : m_fd(fd) {
  if (handshake_timeout_s > 0) set_recv_timeout(fd, handshake_timeout_s);
}

void FdTransport::begin_transmission() { set_recv_timeout(m_fd, 0); }

Result<void> FdTransport::recv(std::span<std::byte> out) {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::recv(m_fd, out.data() + done, out.size() - done, 0);
    if (n == 0) return make_error(ECONNRESET, "client closed the connection");
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return make_error(ETIMEDOUT, "client did not finish the handshake in time");
      return errno_error("reading from the client");
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

Result<void> FdTransport::send(std::span<const std::byte> head, std::span<const std::byte> body) {
  // sendmsg with MSG_NOSIGNAL: a client that went away is an error, not SIGPIPE.
  iovec iov[2];
  size_t skip = 0;
  const size_t total = head.size() + body.size();
  while (skip < total) {
    int cnt = 0;
    if (skip < head.size()) {
      iov[cnt++] = {const_cast<std::byte*>(head.data()) + skip, head.size() - skip};
      if (!body.empty()) iov[cnt++] = {const_cast<std::byte*>(body.data()), body.size()};
    } else {
      size_t b = skip - head.size();
      iov[cnt++] = {const_cast<std::byte*>(body.data()) + b, body.size() - b};
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(cnt);
    ssize_t n = ::sendmsg(m_fd, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("writing to the client");
    }
    skip += static_cast<size_t>(n);
  }
  return {};
}

Result<void> MemoryTransport::recv(std::span<std::byte> out) {
  if (m_input.size() - m_pos < out.size()) {
    m_pos = m_input.size();
    return make_error(ECONNRESET, "client closed the connection");
  }
  if (!out.empty()) std::memcpy(out.data(), m_input.data() + m_pos, out.size());
  m_pos += out.size();
  return {};
}

Result<void> MemoryTransport::send(std::span<const std::byte> head, std::span<const std::byte> body) {
  for (auto part : {head, body}) {
    size_t room = m_max_output - std::min(m_max_output, m_output.size());
    size_t n = std::min(room, part.size());
    m_output.insert(m_output.end(), part.begin(), part.begin() + static_cast<std::ptrdiff_t>(n));
  }
  return {};
}

}  // namespace dk::nbd
