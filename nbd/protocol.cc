// NBD message encoding and decoding (see protocol.h).
#include "nbd/protocol.h"

#include <cerrno>

#include "formats/core/endian.h"

namespace dk::nbd {

Request decode_request(std::span<const std::byte, kRequestSize> in) {
  const std::byte* p = in.data();
  Request r;
  r.magic = load_be32(p);
  r.flags = load_be16(p + 4);
  r.type = load_be16(p + 6);
  r.cookie = load_be64(p + 8);
  r.offset = load_be64(p + 16);
  r.length = load_be32(p + 24);
  return r;
}

void encode_request(const Request& r, std::span<std::byte, kRequestSize> out) {
  std::byte* p = out.data();
  store_be32(p, r.magic);
  store_be16(p + 4, r.flags);
  store_be16(p + 6, r.type);
  store_be64(p + 8, r.cookie);
  store_be64(p + 16, r.offset);
  store_be32(p + 24, r.length);
}

void encode_simple_reply(uint32_t error, uint64_t cookie,
                         std::span<std::byte, kSimpleReplySize> out) {
  std::byte* p = out.data();
  store_be32(p, NBD_SIMPLE_REPLY_MAGIC);
  store_be32(p + 4, error);
  store_be64(p + 8, cookie);
}

void encode_structured_reply(uint16_t flags, uint16_t type, uint64_t cookie, uint32_t length,
                             std::span<std::byte, kStructuredReplySize> out) {
  std::byte* p = out.data();
  store_be32(p, NBD_STRUCTURED_REPLY_MAGIC);
  store_be16(p + 4, flags);
  store_be16(p + 6, type);
  store_be64(p + 8, cookie);
  store_be32(p + 16, length);
}

void encode_option_reply(uint32_t option, uint32_t type, uint32_t length,
                         std::span<std::byte, kOptionReplyHeaderSize> out) {
  std::byte* p = out.data();
  store_be64(p, kOptReplyMagic);
  store_be32(p + 8, option);
  store_be32(p + 12, type);
  store_be32(p + 16, length);
}

uint32_t errno_to_nbd(int err) {
  switch (err) {
    case EPERM:
    case EROFS:
    case EACCES:
      return NBD_EPERM;
    case ENOMEM:
      return NBD_ENOMEM;
    case EINVAL:
      return NBD_EINVAL;
    case ENOSPC:
    case EFBIG:
    case EDQUOT:
      return NBD_ENOSPC;
    case EOVERFLOW:
      return NBD_EOVERFLOW;
    case ENOTSUP:
      return NBD_ENOTSUP;
    case ESHUTDOWN:
      return NBD_ESHUTDOWN;
    default:
      return NBD_EIO;
  }
}

std::string command_name(uint16_t type) {
  switch (type) {
    case NBD_CMD_READ: return "NBD_CMD_READ";
    case NBD_CMD_WRITE: return "NBD_CMD_WRITE";
    case NBD_CMD_DISC: return "NBD_CMD_DISC";
    case NBD_CMD_FLUSH: return "NBD_CMD_FLUSH";
    case NBD_CMD_TRIM: return "NBD_CMD_TRIM";
    case NBD_CMD_WRITE_ZEROES: return "NBD_CMD_WRITE_ZEROES";
    case NBD_CMD_BLOCK_STATUS: return "NBD_CMD_BLOCK_STATUS";
    default: return "command " + std::to_string(type);
  }
}

std::optional<uint16_t> PayloadReader::be16() {
  if (remaining() < 2) return std::nullopt;
  uint16_t v = load_be16(m_in.data() + m_pos);
  m_pos += 2;
  return v;
}

std::optional<uint32_t> PayloadReader::be32() {
  if (remaining() < 4) return std::nullopt;
  uint32_t v = load_be32(m_in.data() + m_pos);
  m_pos += 4;
  return v;
}

std::optional<std::string> PayloadReader::string(size_t n) {
  if (remaining() < n) return std::nullopt;
  std::string s(reinterpret_cast<const char*>(m_in.data() + m_pos), n);
  m_pos += n;
  return s;
}

}  // namespace dk::nbd
