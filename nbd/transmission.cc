// The transmission phase: requests in, simple or structured replies out
// (see session.h). Requests are served one at a time, in order.
#include <algorithm>
#include <array>
#include <cstring>

#include "formats/core/endian.h"
#include "nbd/session.h"

namespace dk::nbd {
namespace {

constexpr uint16_t kKnownFlags =
    NBD_CMD_FLAG_FUA | NBD_CMD_FLAG_NO_HOLE | NBD_CMD_FLAG_DF | NBD_CMD_FLAG_REQ_ONE;

bool in_bounds(const Request& r, uint64_t size) {
  return r.offset <= size && r.length <= size - r.offset;
}

}  // namespace

std::span<std::byte> Session::buffer(size_t n) {
  if (m_buf.size() < n) m_buf.resize(n);
  return std::span(m_buf).first(n);
}

Result<void> Session::transmission() {
  for (;;) {
    std::array<std::byte, kRequestSize> raw;
    DK_TRY(m_t.recv(raw));
    Request r = decode_request(raw);
    if (r.magic != NBD_REQUEST_MAGIC) return make_error(EPROTO, "bad request magic");
    bool more = DK_TRY(handle_request(r));
    if (!more) return {};
  }
}

Result<bool> Session::handle_request(const Request& r) {
  Export& e = *m_export;
  std::span<const std::byte> payload;
  if (r.type == NBD_CMD_WRITE) {
    // The payload must be consumed to stay in sync; one we will not buffer
    // means the stream cannot continue.
    if (r.length > kMaxPayload)
      return make_error(EPROTO, "write of " + std::to_string(r.length) + " bytes is too large");
    auto buf = buffer(r.length);
    DK_TRY(m_t.recv(buf));
    payload = buf;
  }
  if (r.flags & ~kKnownFlags) {
    DK_TRY(send_error(r, NBD_EINVAL, "unknown command flags"));
    return true;
  }
  const bool fua = r.flags & NBD_CMD_FLAG_FUA;
  Result<void> res;
  switch (r.type) {
    case NBD_CMD_READ:
      DK_TRY(cmd_read(r));
      return true;
    case NBD_CMD_BLOCK_STATUS:
      DK_TRY(cmd_block_status(r));
      return true;
    case NBD_CMD_DISC:
      return false;
    case NBD_CMD_WRITE:
      if (e.read_only()) {
        DK_TRY(send_error(r, NBD_EPERM, "export is read-only"));
        return true;
      }
      if (!in_bounds(r, e.size())) {
        DK_TRY(send_error(r, NBD_ENOSPC, "write beyond the end of the export"));
        return true;
      }
      res = e.write(r.offset, payload);
      break;
    case NBD_CMD_FLUSH:
      res = e.flush();
      break;
    case NBD_CMD_TRIM:
    case NBD_CMD_WRITE_ZEROES:
      if (e.read_only()) {
        DK_TRY(send_error(r, NBD_EPERM, "export is read-only"));
        return true;
      }
      if (!in_bounds(r, e.size())) {
        DK_TRY(send_error(r, r.type == NBD_CMD_TRIM ? NBD_EINVAL : NBD_ENOSPC,
                          "request beyond the end of the export"));
        return true;
      }
      if (r.type == NBD_CMD_TRIM)
        res = e.discard(r.offset, r.length);
      else
        res = e.write_zeroes(r.offset, r.length, !(r.flags & NBD_CMD_FLAG_NO_HOLE));
      break;
    default:
      DK_TRY(send_error(r, NBD_EINVAL, command_name(r.type) + " is not supported"));
      return true;
  }
  if (res && fua && r.type != NBD_CMD_FLUSH) res = e.flush();
  if (!res) {
    DK_TRY(send_error(r, errno_to_nbd(res.error().code), res.error().message));
    return true;
  }
  DK_TRY(send_simple(r.cookie, 0));
  return true;
}

Result<void> Session::cmd_read(const Request& r) {
  Export& e = *m_export;
  if (r.length > kMaxPayload) return send_error(r, NBD_EINVAL, "read is too large");
  if (!in_bounds(r, e.size())) return send_error(r, NBD_EINVAL, "read beyond the end of the export");
  if (!m_structured || (r.flags & NBD_CMD_FLAG_DF) || r.length == 0) {
    auto buf = buffer(r.length);
    if (auto res = e.read(r.offset, buf); !res)
      return send_error(r, errno_to_nbd(res.error().code), res.error().message);
    if (!m_structured) return send_simple(r.cookie, 0, buf);
    std::array<std::byte, 8> off;
    store_be64(off.data(), r.offset);
    if (r.length == 0) return send_chunk(NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_NONE, r.cookie, {});
    return send_chunk(NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_OFFSET_DATA, r.cookie, off, buf);
  }
  // Structured: holes go out as OFFSET_HOLE chunks without reading them.
  auto pieces = e.map(r.offset, r.length, 1024);
  if (!pieces) return send_error(r, errno_to_nbd(pieces.error().code), pieces.error().message);
  uint64_t covered = 0;
  for (const Piece& p : *pieces) covered += p.length;
  if (covered < r.length) pieces->push_back(Piece{r.length - covered, false, true});
  uint64_t off = r.offset;
  for (size_t i = 0; i < pieces->size(); ++i) {
    const Piece& p = (*pieces)[i];
    uint16_t flags = i + 1 == pieces->size() ? NBD_REPLY_FLAG_DONE : 0;
    if (p.zero) {
      std::array<std::byte, 12> hole;
      store_be64(hole.data(), off);
      store_be32(hole.data() + 8, static_cast<uint32_t>(p.length));
      DK_TRY(send_chunk(flags, NBD_REPLY_TYPE_OFFSET_HOLE, r.cookie, hole));
    } else {
      auto buf = buffer(p.length);
      if (auto res = e.read(off, buf); !res) {
        std::string msg = res.error().message;
        std::vector<std::byte> err(6 + std::min<size_t>(msg.size(), 4096) + 8);
        size_t mlen = err.size() - 14;
        store_be32(err.data(), errno_to_nbd(res.error().code));
        store_be16(err.data() + 4, static_cast<uint16_t>(mlen));
        std::memcpy(err.data() + 6, msg.data(), mlen);
        store_be64(err.data() + 6 + mlen, off);
        return send_chunk(NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_ERROR_OFFSET, r.cookie, err);
      }
      std::array<std::byte, 8> o;
      store_be64(o.data(), off);
      DK_TRY(send_chunk(flags, NBD_REPLY_TYPE_OFFSET_DATA, r.cookie, o, buf));
    }
    off += p.length;
  }
  return {};
}

Result<void> Session::cmd_block_status(const Request& r) {
  Export& e = *m_export;
  if (!m_structured || !m_meta_allocation)
    return send_error(r, NBD_EINVAL, "no meta context was negotiated");
  if (r.length == 0) return send_error(r, NBD_EINVAL, "block status of 0 bytes");
  if (!in_bounds(r, e.size()))
    return send_error(r, NBD_EINVAL, "block status beyond the end of the export");
  size_t max = (r.flags & NBD_CMD_FLAG_REQ_ONE) ? 1 : kMaxStatusExtents;
  auto pieces = e.map(r.offset, r.length, max);
  if (!pieces) return send_error(r, errno_to_nbd(pieces.error().code), pieces.error().message);
  std::vector<std::byte> payload(4 + 8 * pieces->size());
  store_be32(payload.data(), kBaseAllocationId);
  for (size_t i = 0; i < pieces->size(); ++i) {
    const Piece& p = (*pieces)[i];
    uint32_t st = (p.data ? 0 : NBD_STATE_HOLE) | (p.zero ? NBD_STATE_ZERO : 0);
    store_be32(payload.data() + 4 + 8 * i, static_cast<uint32_t>(p.length));
    store_be32(payload.data() + 8 + 8 * i, st);
  }
  return send_chunk(NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_BLOCK_STATUS, r.cookie, payload);
}

Result<void> Session::send_simple(uint64_t cookie, uint32_t error, std::span<const std::byte> data) {
  std::array<std::byte, kSimpleReplySize> hdr;
  encode_simple_reply(error, cookie, hdr);
  return m_t.send(hdr, data);
}

Result<void> Session::send_chunk(uint16_t flags, uint16_t type, uint64_t cookie,
                                 std::span<const std::byte> payload, std::span<const std::byte> data) {
  // Header and the small payload prefix go in one buffer; bulk data follows.
  std::array<std::byte, kStructuredReplySize + 64> head;
  size_t plen = std::min(payload.size(), size_t{64});
  encode_structured_reply(flags, type, cookie, static_cast<uint32_t>(payload.size() + data.size()),
                          std::span(head).first<kStructuredReplySize>());
  if (payload.size() > 64) {
    DK_TRY(m_t.send(std::span(head).first(kStructuredReplySize), payload));
    return data.empty() ? Result<void>{} : m_t.send(data);
  }
  if (plen > 0) std::memcpy(head.data() + kStructuredReplySize, payload.data(), plen);
  return m_t.send(std::span(head).first(kStructuredReplySize + plen), data);
}

Result<void> Session::send_error(const Request& r, uint32_t error, const std::string& msg) {
  // Structured replies are mandatory for READ and BLOCK_STATUS once
  // negotiated; other commands keep simple replies.
  bool structured = m_structured && (r.type == NBD_CMD_READ || r.type == NBD_CMD_BLOCK_STATUS);
  if (!structured) return send_simple(r.cookie, error);
  size_t mlen = std::min<size_t>(msg.size(), 4096);
  std::vector<std::byte> err(6 + mlen);
  store_be32(err.data(), error);
  store_be16(err.data() + 4, static_cast<uint16_t>(mlen));
  std::memcpy(err.data() + 6, msg.data(), mlen);
  return send_chunk(NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_ERROR, r.cookie, err);
}

}  // namespace dk::nbd
