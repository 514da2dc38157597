// NBD wire protocol: constants and the fixed-size message layouts of the
// fixed newstyle handshake and the transmission phase, with the names of
// the protocol document (NetworkBlockDevice/nbd doc/proto.md). All integers
// on the wire are big-endian.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace dk::nbd {

// ---- Handshake ----
inline constexpr uint64_t kNbdMagic = 0x4e42444d41474943ull;     // "NBDMAGIC"
inline constexpr uint64_t kIHaveOpt = 0x49484156454F5054ull;     // "IHAVEOPT"
inline constexpr uint64_t kOptReplyMagic = 0x0003e889045565a9ull;

// Handshake flags (server) and client flags.
inline constexpr uint16_t NBD_FLAG_FIXED_NEWSTYLE = 1u << 0;
inline constexpr uint16_t NBD_FLAG_NO_ZEROES = 1u << 1;
inline constexpr uint32_t NBD_FLAG_C_FIXED_NEWSTYLE = 1u << 0;
inline constexpr uint32_t NBD_FLAG_C_NO_ZEROES = 1u << 1;

// Options.
inline constexpr uint32_t NBD_OPT_EXPORT_NAME = 1;
inline constexpr uint32_t NBD_OPT_ABORT = 2;
inline constexpr uint32_t NBD_OPT_LIST = 3;
inline constexpr uint32_t NBD_OPT_STARTTLS = 5;
inline constexpr uint32_t NBD_OPT_INFO = 6;
inline constexpr uint32_t NBD_OPT_GO = 7;
inline constexpr uint32_t NBD_OPT_STRUCTURED_REPLY = 8;
inline constexpr uint32_t NBD_OPT_LIST_META_CONTEXT = 9;
inline constexpr uint32_t NBD_OPT_SET_META_CONTEXT = 10;

// Option reply types.
inline constexpr uint32_t NBD_REP_ACK = 1;
inline constexpr uint32_t NBD_REP_SERVER = 2;
inline constexpr uint32_t NBD_REP_INFO = 3;
inline constexpr uint32_t NBD_REP_META_CONTEXT = 4;
inline constexpr uint32_t kRepErr = 1u << 31;
inline constexpr uint32_t NBD_REP_ERR_UNSUP = kRepErr | 1;
inline constexpr uint32_t NBD_REP_ERR_POLICY = kRepErr | 2;
inline constexpr uint32_t NBD_REP_ERR_INVALID = kRepErr | 3;
inline constexpr uint32_t NBD_REP_ERR_PLATFORM = kRepErr | 4;
inline constexpr uint32_t NBD_REP_ERR_TLS_REQD = kRepErr | 5;
inline constexpr uint32_t NBD_REP_ERR_UNKNOWN = kRepErr | 6;
inline constexpr uint32_t NBD_REP_ERR_SHUTDOWN = kRepErr | 7;
inline constexpr uint32_t NBD_REP_ERR_TOO_BIG = kRepErr | 9;

// NBD_REP_INFO types.
inline constexpr uint16_t NBD_INFO_EXPORT = 0;
inline constexpr uint16_t NBD_INFO_NAME = 1;
inline constexpr uint16_t NBD_INFO_DESCRIPTION = 2;
inline constexpr uint16_t NBD_INFO_BLOCK_SIZE = 3;

// Transmission flags.
inline constexpr uint16_t NBD_FLAG_HAS_FLAGS = 1u << 0;
inline constexpr uint16_t NBD_FLAG_READ_ONLY = 1u << 1;
inline constexpr uint16_t NBD_FLAG_SEND_FLUSH = 1u << 2;
inline constexpr uint16_t NBD_FLAG_SEND_FUA = 1u << 3;
inline constexpr uint16_t NBD_FLAG_SEND_TRIM = 1u << 5;
inline constexpr uint16_t NBD_FLAG_SEND_WRITE_ZEROES = 1u << 6;
inline constexpr uint16_t NBD_FLAG_SEND_DF = 1u << 7;

// ---- Transmission ----
inline constexpr uint32_t NBD_REQUEST_MAGIC = 0x25609513;
inline constexpr uint32_t NBD_SIMPLE_REPLY_MAGIC = 0x67446698;
inline constexpr uint32_t NBD_STRUCTURED_REPLY_MAGIC = 0x668e33ef;

inline constexpr uint16_t NBD_CMD_READ = 0;
inline constexpr uint16_t NBD_CMD_WRITE = 1;
inline constexpr uint16_t NBD_CMD_DISC = 2;
inline constexpr uint16_t NBD_CMD_FLUSH = 3;
inline constexpr uint16_t NBD_CMD_TRIM = 4;
inline constexpr uint16_t NBD_CMD_WRITE_ZEROES = 6;
inline constexpr uint16_t NBD_CMD_BLOCK_STATUS = 7;

inline constexpr uint16_t NBD_CMD_FLAG_FUA = 1u << 0;
inline constexpr uint16_t NBD_CMD_FLAG_NO_HOLE = 1u << 1;
inline constexpr uint16_t NBD_CMD_FLAG_DF = 1u << 2;
inline constexpr uint16_t NBD_CMD_FLAG_REQ_ONE = 1u << 3;

inline constexpr uint16_t NBD_REPLY_FLAG_DONE = 1u << 0;
inline constexpr uint16_t NBD_REPLY_TYPE_NONE = 0;
inline constexpr uint16_t NBD_REPLY_TYPE_OFFSET_DATA = 1;
inline constexpr uint16_t NBD_REPLY_TYPE_OFFSET_HOLE = 2;
inline constexpr uint16_t NBD_REPLY_TYPE_BLOCK_STATUS = 5;
inline constexpr uint16_t NBD_REPLY_TYPE_ERROR = (1u << 15) | 1;
inline constexpr uint16_t NBD_REPLY_TYPE_ERROR_OFFSET = (1u << 15) | 2;

// base:allocation status bits.
inline constexpr uint32_t NBD_STATE_HOLE = 1u << 0;
inline constexpr uint32_t NBD_STATE_ZERO = 1u << 1;

// Error values on the wire (not the host's errno numbers).
inline constexpr uint32_t NBD_EPERM = 1;
inline constexpr uint32_t NBD_EIO = 5;
inline constexpr uint32_t NBD_ENOMEM = 12;
inline constexpr uint32_t NBD_EINVAL = 22;
inline constexpr uint32_t NBD_ENOSPC = 28;
inline constexpr uint32_t NBD_EOVERFLOW = 75;
inline constexpr uint32_t NBD_ENOTSUP = 95;
inline constexpr uint32_t NBD_ESHUTDOWN = 108;

// ---- Limits (hostile clients) ----
// Largest READ/WRITE payload, as QEMU's NBD_MAX_BUFFER_SIZE.
inline constexpr uint32_t kMaxPayload = 32u << 20;
// Longest export name or meta context name (the spec's 4096-byte string limit).
inline constexpr uint32_t kMaxString = 4096;
// Largest option payload read; bigger options close the connection.
inline constexpr uint32_t kMaxOptionLength = 64u << 10;
// Most descriptors in one NBD_REPLY_TYPE_BLOCK_STATUS chunk.
inline constexpr uint32_t kMaxStatusExtents = 2048;
// Context id of base:allocation (the only context this server offers).
inline constexpr uint32_t kBaseAllocationId = 1;
inline constexpr std::string_view kBaseAllocation = "base:allocation";

// The 28-byte transmission request.
struct Request {
  uint32_t magic = 0;
  uint16_t flags = 0;
  uint16_t type = 0;
  uint64_t cookie = 0;
  uint64_t offset = 0;
  uint32_t length = 0;
};
inline constexpr size_t kRequestSize = 28;
inline constexpr size_t kSimpleReplySize = 16;
inline constexpr size_t kStructuredReplySize = 20;
inline constexpr size_t kOptionHeaderSize = 16;   // IHAVEOPT, option, length
inline constexpr size_t kOptionReplyHeaderSize = 20;

Request decode_request(std::span<const std::byte, kRequestSize> in);
void encode_request(const Request& r, std::span<std::byte, kRequestSize> out);
void encode_simple_reply(uint32_t error, uint64_t cookie,
                         std::span<std::byte, kSimpleReplySize> out);
void encode_structured_reply(uint16_t flags, uint16_t type, uint64_t cookie, uint32_t length,
                             std::span<std::byte, kStructuredReplySize> out);
void encode_option_reply(uint32_t option, uint32_t type, uint32_t length,
                         std::span<std::byte, kOptionReplyHeaderSize> out);

// The host errno of a failed Layer call as an NBD error value (EROFS ->
// EPERM, EFBIG/EDQUOT -> ENOSPC, anything unlisted -> EIO or EINVAL).
uint32_t errno_to_nbd(int err);

// Name of a command or option for messages ("NBD_CMD_READ", "option 42").
std::string command_name(uint16_t type);

// A byte reader over an option payload: every get fails (nullopt) instead of
// reading past the end.
class PayloadReader {
 public:
  explicit PayloadReader(std::span<const std::byte> in) : m_in(in) {}
  std::optional<uint16_t> be16();
  std::optional<uint32_t> be32();
  // n bytes as a string.
  std::optional<std::string> string(size_t n);
  size_t remaining() const { return m_in.size() - m_pos; }

 private:
  std::span<const std::byte> m_in;
  size_t m_pos = 0;
};

}  // namespace dk::nbd
