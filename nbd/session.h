// Session: one NBD client from the first handshake byte to the end of the
// transmission phase. The server runs one Session per connection on its own
// thread; the fuzz target and unit tests run it over a MemoryTransport.
//
// Hostile input never crashes or allocates without bound: option payloads
// are capped at kMaxOptionLength, requests at kMaxPayload; anything the
// protocol cannot recover from (bad magic, oversized payloads, unknown
// client flags, EXPORT_NAME of a missing export) ends the session.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "formats/core/error.h"
#include "nbd/export.h"
#include "nbd/protocol.h"
#include "nbd/transport.h"

namespace dk::nbd {

class Session {
 public:
  Session(Transport& t, std::span<Export* const> exports) : m_t(t), m_exports(exports) {}
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Runs the handshake and then serves requests. Returns success when the
  // client ended the session properly (NBD_OPT_ABORT, NBD_CMD_DISC), an
  // error describing why the connection is dropped otherwise.
  Result<void> run();

 private:
  enum class OptionOutcome { Continue, Transmit, Abort };

  // ---- handshake.cc ----
  Result<bool> handshake();  // true: enter transmission with m_export set
  Result<OptionOutcome> handle_option(uint32_t opt, std::span<const std::byte> data);
  Result<OptionOutcome> opt_export_name(std::span<const std::byte> data);
  Result<OptionOutcome> opt_info_go(uint32_t opt, std::span<const std::byte> data);
  Result<void> opt_list(std::span<const std::byte> data);
  Result<void> opt_meta_context(uint32_t opt, std::span<const std::byte> data);
  Result<void> send_option_reply(uint32_t opt, uint32_t type, std::span<const std::byte> data = {});
  Result<void> send_option_error(uint32_t opt, uint32_t type, const std::string& msg);
  Export* find_export(const std::string& name) const;
  uint16_t transmission_flags(const Export& e) const;

  // ---- transmission.cc ----
  Result<void> transmission();
  // false: the client disconnected (NBD_CMD_DISC).
  Result<bool> handle_request(const Request& r);
  Result<void> cmd_read(const Request& r);
  Result<void> cmd_block_status(const Request& r);
  Result<void> send_simple(uint64_t cookie, uint32_t error, std::span<const std::byte> data = {});
  Result<void> send_chunk(uint16_t flags, uint16_t type, uint64_t cookie,
                          std::span<const std::byte> payload, std::span<const std::byte> data = {});
  Result<void> send_error(const Request& r, uint32_t error, const std::string& msg);
  // Reads into the shared buffer (grown on demand, at most kMaxPayload).
  std::span<std::byte> buffer(size_t n);

  Transport& m_t;
  std::span<Export* const> m_exports;
  bool m_no_zeroes = false;
  bool m_structured = false;
  // base:allocation selected by SET_META_CONTEXT, for this export name.
  bool m_meta_allocation = false;
  std::string m_meta_export;
  Export* m_export = nullptr;  // holds one of its client slots
  std::vector<std::byte> m_buf;
};

}  // namespace dk::nbd
