// The wire protocol between the host (appliance/host) and the guest agent
// (appliance/agent), shared by both sides.
//
// Every frame is a big-endian u32 length followed by that many payload
// bytes (at most kMaxFrame). The payload's first byte is its kind:
//   'J' + JSON text: a message. Requests {id, op, args[, upload:true]};
//       replies {id, result} or {id, error:{errno, message}}; progress
//       {id, progress:{done, total}}; cancellation {id, cancel:true}.
//   'D' + u64 id (big-endian) + bytes: one chunk of request id's upload
//       (host -> guest) or download (guest -> host) stream. An empty chunk
//       ends an upload; a download ends with the request's reply.
// A stream has no size limit: it is as many chunks as it needs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "formats/core/error.h"

namespace dk::proto {

constexpr uint32_t kMaxFrame = 16u << 20;
// Data chunks are written in pieces of at most this many bytes.
constexpr size_t kChunk = 1u << 20;

enum class FrameKind : uint8_t { Json = 'J', Data = 'D', Bad = 0 };

struct Frame {
  FrameKind kind = FrameKind::Bad;
  uint64_t id = 0;   // Data: the request id
  std::string body;  // Json: the text; Data: the bytes; Bad: why it is malformed
};

// Encoders: the complete frame, length prefix included.
std::string encode_json(const nlohmann::json& msg);
std::string encode_data(uint64_t id, std::span<const std::byte> data);

// Decodes one payload (without the length prefix); a malformed payload
// gives a Bad frame saying why.
Frame decode_payload(std::string_view payload);

// Reads and writes frames on file descriptors (a pipe, a socket or a
// virtio-serial port). Not thread-safe.
class Channel {
 public:
  Channel(int in_fd, int out_fd) : m_in(in_fd), m_out(out_fd) {}
  // The next frame; ENODATA at a clean end of input between frames. A
  // frame longer than kMaxFrame is skipped (its bytes are read and
  // dropped) and returned as Bad, so the peer and the reader stay in step.
  Result<Frame> read();
  // True when input is waiting (waits up to timeout_ms; 0 = just poll).
  Result<bool> readable(int timeout_ms);
  Result<void> write_json(const nlohmann::json& msg);
  Result<void> write_data(uint64_t id, std::span<const std::byte> data);
  Result<void> write_raw(std::string_view bytes);

 private:
  Result<void> read_exact(char* buf, size_t n, bool at_start);
  int m_in, m_out;
};

// A parsed request. `id` is the JSON id as sent (null when it was missing
// or not an unsigned integer, so an error reply can still be addressed).
struct Request {
  nlohmann::json id;
  uint64_t num_id = 0;
  std::string op;
  nlohmann::json args = nlohmann::json::object();
  bool upload = false;
  bool cancel = false;
};

// Reading replies on the host, where the agent is not trusted (it runs next
// to guest file systems that may be hostile): no shape of reply may throw.
// True when msg is an object whose "id" is the unsigned number id.
bool reply_has_id(const nlohmann::json& msg, uint64_t id);
// The Error a reply's "error" member describes: its errno when that is a
// number in 1..4095 (else EIO) and its message when a string (else
// `fallback`).
Error reply_error(const nlohmann::json& error, const std::string& fallback);

// Parses a JSON frame's text into a Request; EINVAL with a one-line reason
// (and whatever id it found in *id_out) when it is not one.
Result<Request> parse_request(std::string_view text, nlohmann::json* id_out);

nlohmann::json make_result(const nlohmann::json& id, nlohmann::json result);
nlohmann::json make_error_reply(const nlohmann::json& id, const Error& e);
nlohmann::json make_progress(uint64_t id, uint64_t done, uint64_t total);

}  // namespace dk::proto
