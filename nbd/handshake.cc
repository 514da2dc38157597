// The fixed newstyle handshake: greeting, client flags and options, up to
// NBD_OPT_GO / NBD_OPT_EXPORT_NAME (see session.h).
#include <array>
#include <cstring>

#include "formats/core/endian.h"
#include "nbd/session.h"

namespace dk::nbd {
namespace {

// Block size constraints sent with NBD_INFO_BLOCK_SIZE: any alignment works
// (the format pipeline does read-modify-write), 4 KiB is efficient, and
// requests are capped at kMaxPayload.
constexpr uint32_t kMinBlock = 1;
constexpr uint32_t kPreferredBlock = 4096;

void put16(std::vector<std::byte>& v, uint16_t x) {
  size_t n = v.size();
  v.resize(n + 2);
  store_be16(v.data() + n, x);
}
void put32(std::vector<std::byte>& v, uint32_t x) {
  size_t n = v.size();
  v.resize(n + 4);
  store_be32(v.data() + n, x);
}
void put64(std::vector<std::byte>& v, uint64_t x) {
  size_t n = v.size();
  v.resize(n + 8);
  store_be64(v.data() + n, x);
}
void put_str(std::vector<std::byte>& v, std::string_view s) {
  const auto* p = reinterpret_cast<const std::byte*>(s.data());
  v.insert(v.end(), p, p + s.size());
}

}  // namespace

Session::~Session() {
  if (m_export) m_export->release();
}

Result<void> Session::run() {
  bool go = DK_TRY(handshake());
  if (!go) return {};
  m_t.begin_transmission();
  return transmission();
}

Export* Session::find_export(const std::string& name) const {
  for (Export* e : m_exports)
    if (e->spec().name == name) return e;
  return nullptr;
}

uint16_t Session::transmission_flags(const Export& e) const {
  uint16_t f = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA | NBD_FLAG_SEND_TRIM |
               NBD_FLAG_SEND_WRITE_ZEROES;
  if (e.read_only()) f |= NBD_FLAG_READ_ONLY;
  if (m_structured) f |= NBD_FLAG_SEND_DF;
  return f;
}

Result<bool> Session::handshake() {
  std::array<std::byte, 18> hello;
  store_be64(hello.data(), kNbdMagic);
  store_be64(hello.data() + 8, kIHaveOpt);
  store_be16(hello.data() + 16, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
  DK_TRY(m_t.send(hello));
  std::array<std::byte, 4> cflags_raw;
  DK_TRY(m_t.recv(cflags_raw));
  uint32_t cflags = load_be32(cflags_raw.data());
  // The spec: a server MUST close on client flags it does not know.
  if (cflags & ~(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES))
    return make_error(EPROTO, "unknown client flags 0x" + std::to_string(cflags));
  m_no_zeroes = cflags & NBD_FLAG_C_NO_ZEROES;

  std::vector<std::byte> data;
  for (;;) {
    std::array<std::byte, kOptionHeaderSize> hdr;
    DK_TRY(m_t.recv(hdr));
    if (load_be64(hdr.data()) != kIHaveOpt) return make_error(EPROTO, "bad option magic");
    uint32_t opt = load_be32(hdr.data() + 8);
    uint32_t len = load_be32(hdr.data() + 12);
    // No option needs this much; skipping it would mean reading up to 4 GiB.
    if (len > kMaxOptionLength)
      return make_error(EPROTO, "option " + std::to_string(opt) + " is too long (" +
                                    std::to_string(len) + " bytes)");
    data.resize(len);
    DK_TRY(m_t.recv(data));
    OptionOutcome o = DK_TRY(handle_option(opt, data));
    if (o == OptionOutcome::Transmit) return true;
    if (o == OptionOutcome::Abort) return false;
  }
}

Result<Session::OptionOutcome> Session::handle_option(uint32_t opt, std::span<const std::byte> data) {
  switch (opt) {
    case NBD_OPT_EXPORT_NAME:
      return opt_export_name(data);
    case NBD_OPT_ABORT:
      // The client may already have closed; a failed ACK does not matter.
      (void)send_option_reply(opt, NBD_REP_ACK);
      return OptionOutcome::Abort;
    case NBD_OPT_LIST:
      DK_TRY(opt_list(data));
      return OptionOutcome::Continue;
    case NBD_OPT_INFO:
    case NBD_OPT_GO:
      return opt_info_go(opt, data);
    case NBD_OPT_STRUCTURED_REPLY:
      if (!data.empty()) {
        DK_TRY(send_option_error(opt, NBD_REP_ERR_INVALID, "option takes no data"));
      } else {
        m_structured = true;
        DK_TRY(send_option_reply(opt, NBD_REP_ACK));
      }
      return OptionOutcome::Continue;
    case NBD_OPT_LIST_META_CONTEXT:
    case NBD_OPT_SET_META_CONTEXT:
      DK_TRY(opt_meta_context(opt, data));
      return OptionOutcome::Continue;
    case NBD_OPT_STARTTLS:
      DK_TRY(send_option_error(opt, NBD_REP_ERR_UNSUP, "TLS is not supported"));
      return OptionOutcome::Continue;
    default:
      DK_TRY(send_option_error(opt, NBD_REP_ERR_UNSUP,
                               "option " + std::to_string(opt) + " is not supported"));
      return OptionOutcome::Continue;
  }
}

Result<Session::OptionOutcome> Session::opt_export_name(std::span<const std::byte> data) {
  // This option has no error reply: an unknown or busy export closes.
  std::string name(reinterpret_cast<const char*>(data.data()), data.size());
  Export* e = find_export(name);
  if (!e) return make_error(ENOENT, "client asked for unknown export '" + name + "'");
  if (!e->try_acquire()) return make_error(EBUSY, "export '" + name + "' has too many clients");
  m_export = e;
  if (m_meta_export != name) m_meta_allocation = false;
  std::array<std::byte, 10 + 124> reply{};
  store_be64(reply.data(), e->size());
  store_be16(reply.data() + 8, transmission_flags(*e));
  DK_TRY(m_t.send(std::span(reply).first(m_no_zeroes ? 10 : reply.size())));
  return OptionOutcome::Transmit;
}

Result<Session::OptionOutcome> Session::opt_info_go(uint32_t opt, std::span<const std::byte> data) {
  PayloadReader in(data);
  auto name_len = in.be32();
  std::optional<std::string> name;
  if (name_len && *name_len <= kMaxString) name = in.string(*name_len);
  auto count = in.be16();
  if (!name || !count || in.remaining() != size_t{*count} * 2) {
    DK_TRY(send_option_error(opt, NBD_REP_ERR_INVALID, "malformed NBD_OPT_INFO/GO request"));
    return OptionOutcome::Continue;
  }
  bool want_name = false, want_description = false;
  for (uint16_t i = 0; i < *count; ++i) {
    uint16_t t = *in.be16();
    want_name |= t == NBD_INFO_NAME;
    want_description |= t == NBD_INFO_DESCRIPTION;
  }
  Export* e = find_export(*name);
  if (!e) {
    DK_TRY(send_option_error(opt, NBD_REP_ERR_UNKNOWN, "export '" + *name + "' not present"));
    return OptionOutcome::Continue;
  }
  if (opt == NBD_OPT_GO && !e->try_acquire()) {
    DK_TRY(send_option_error(opt, NBD_REP_ERR_POLICY,
                             "export '" + *name + "' has too many clients"));
    return OptionOutcome::Continue;
  }
  if (opt == NBD_OPT_GO) m_export = e;

  std::vector<std::byte> info;
  put16(info, NBD_INFO_EXPORT);
  put64(info, e->size());
  put16(info, transmission_flags(*e));
  DK_TRY(send_option_reply(opt, NBD_REP_INFO, info));
  if (want_name) {
    info.clear();
    put16(info, NBD_INFO_NAME);
    put_str(info, e->spec().name);
    DK_TRY(send_option_reply(opt, NBD_REP_INFO, info));
  }
  if (want_description && !e->spec().description.empty()) {
    info.clear();
    put16(info, NBD_INFO_DESCRIPTION);
    put_str(info, std::string_view(e->spec().description).substr(0, kMaxString));
    DK_TRY(send_option_reply(opt, NBD_REP_INFO, info));
  }
  info.clear();
  put16(info, NBD_INFO_BLOCK_SIZE);
  put32(info, kMinBlock);
  put32(info, kPreferredBlock);
  put32(info, kMaxPayload);
  DK_TRY(send_option_reply(opt, NBD_REP_INFO, info));
  DK_TRY(send_option_reply(opt, NBD_REP_ACK));
  if (opt == NBD_OPT_INFO) return OptionOutcome::Continue;
  // Meta contexts negotiated for another export name do not carry over.
  if (m_meta_export != *name) m_meta_allocation = false;
  return OptionOutcome::Transmit;
}

Result<void> Session::opt_list(std::span<const std::byte> data) {
  if (!data.empty()) return send_option_error(NBD_OPT_LIST, NBD_REP_ERR_INVALID, "option takes no data");
  std::vector<std::byte> entry;
  for (Export* e : m_exports) {
    entry.clear();
    put32(entry, static_cast<uint32_t>(e->spec().name.size()));
    put_str(entry, e->spec().name);
    put_str(entry, std::string_view(e->spec().description).substr(0, kMaxString));
    DK_TRY(send_option_reply(NBD_OPT_LIST, NBD_REP_SERVER, entry));
  }
  return send_option_reply(NBD_OPT_LIST, NBD_REP_ACK);
}

Result<void> Session::opt_meta_context(uint32_t opt, std::span<const std::byte> data) {
  const bool set = opt == NBD_OPT_SET_META_CONTEXT;
  if (set && !m_structured)
    return send_option_error(opt, NBD_REP_ERR_INVALID, "use NBD_OPT_STRUCTURED_REPLY first");
  PayloadReader in(data);
  auto name_len = in.be32();
  std::optional<std::string> name;
  if (name_len && *name_len <= kMaxString) name = in.string(*name_len);
  auto count = in.be32();
  if (!name || !count)
    return send_option_error(opt, NBD_REP_ERR_INVALID, "malformed meta context request");
  bool match = false;
  for (uint32_t i = 0; i < *count; ++i) {
    auto qlen = in.be32();
    std::optional<std::string> q;
    if (qlen && *qlen <= kMaxString) q = in.string(*qlen);
    if (!q) return send_option_error(opt, NBD_REP_ERR_INVALID, "malformed meta context query");
    // LIST accepts the namespace prefix "base:" as a wildcard; SET wants the full name.
    if (*q == kBaseAllocation || (!set && *q == "base:")) match = true;
  }
  if (in.remaining() != 0)
    return send_option_error(opt, NBD_REP_ERR_INVALID, "trailing data in meta context request");
  if (!find_export(*name))
    return send_option_error(opt, NBD_REP_ERR_UNKNOWN, "export '" + *name + "' not present");
  // LIST with no queries lists every context the server has.
  if (!set && *count == 0) match = true;
  if (set) {
    m_meta_allocation = match;
    m_meta_export = *name;
  }
  if (match) {
    std::vector<std::byte> ctx;
    put32(ctx, set ? kBaseAllocationId : 0);
    put_str(ctx, kBaseAllocation);
    DK_TRY(send_option_reply(opt, NBD_REP_META_CONTEXT, ctx));
  }
  return send_option_reply(opt, NBD_REP_ACK);
}

Result<void> Session::send_option_reply(uint32_t opt, uint32_t type, std::span<const std::byte> data) {
  std::array<std::byte, kOptionReplyHeaderSize> hdr;
  encode_option_reply(opt, type, static_cast<uint32_t>(data.size()), hdr);
  return m_t.send(hdr, data);
}

Result<void> Session::send_option_error(uint32_t opt, uint32_t type, const std::string& msg) {
  auto p = reinterpret_cast<const std::byte*>(msg.data());
  return send_option_reply(opt, type, std::span(p, msg.size()));
}

}  // namespace dk::nbd
