#include "appliance/agent/server.h"

#include <cstring>

namespace dk::agent {
namespace {

bool g_shutdown = false;
const DeviceMap* g_devices = nullptr;

using nlohmann::json;

class RequestContext : public Context {
 public:
  RequestContext(Server& s, const proto::Request& r) : m_s(s), m_req(r), m_upload_done(!r.upload) {}

  const json& args() const override { return m_req.args; }
  Result<std::string> guest_device(std::string_view user) override { return m_s.devices().to_guest(user); }
  std::string user_device(std::string_view guest) override { return m_s.devices().to_user(guest); }

  void progress(uint64_t done, uint64_t total) override {
    (void)m_s.channel().write_json(proto::make_progress(m_req.num_id, done, total));
  }

  bool cancelled() const override {
    if (!m_cancelled) {
      auto c = m_s.poll_cancel(m_req.num_id);
      if (c && *c) m_cancelled = true;
    }
    return m_cancelled;
  }

  Result<size_t> read_upload(std::span<std::byte> buf) override {
    while (m_chunk_pos == m_chunk.size()) {
      if (m_upload_done) return size_t{0};
      DK_TRY(next_upload_chunk());
    }
    size_t n = std::min(buf.size(), m_chunk.size() - m_chunk_pos);
    std::memcpy(buf.data(), m_chunk.data() + m_chunk_pos, n);
    m_chunk_pos += n;
    return n;
  }

  Result<void> write_download(std::span<const std::byte> data) override {
    if (data.empty()) return {};  // an empty chunk would read as nothing anyway
    return m_s.channel().write_data(m_req.num_id, data);
  }

  // Reads what is left of the upload so the next frame is a request again.
  Result<void> drain_upload() {
    while (!m_upload_done) DK_TRY(next_upload_chunk());
    return {};
  }

 private:
  Result<void> next_upload_chunk() {
    for (;;) {
      proto::Frame f = DK_TRY(m_s.next_frame());
      if (f.kind == proto::FrameKind::Data && f.id == m_req.num_id) {
        m_chunk = std::move(f.body);
        m_chunk_pos = 0;
        if (m_chunk.empty()) m_upload_done = true;
        return {};
      }
      if (f.kind == proto::FrameKind::Json) {
        json id;
        auto r = proto::parse_request(f.body, &id);
        if (r && r->cancel && r->num_id == m_req.num_id) {
          m_cancelled = true;
          continue;
        }
        // A new request before the upload ended: the host gave up on it.
        m_s.put_aside(std::move(f));
        m_upload_done = true;
        return make_error(ECANCELED, "the upload stream ended early");
      }
      // Stray data for another id, or a malformed frame: drop it.
    }
  }

  Server& m_s;
  const proto::Request& m_req;
  mutable bool m_cancelled = false;
  bool m_upload_done;
  std::string m_chunk;
  size_t m_chunk_pos = 0;
};

// An op's exceptions (a JSON type error in an argument) become errors:
// the agent must outlive any request.
Result<json> call_op(OpFn fn, Context& ctx) {
  try {
    return fn(ctx);
  } catch (const std::exception& e) {
    return make_error(EINVAL, e.what());
  }
}

}  // namespace

void request_shutdown() { g_shutdown = true; }

const DeviceMap& current_devices() {
  static const DeviceMap kNone = DeviceMap::host();
  return g_devices ? *g_devices : kNone;
}

Server::Server(proto::Channel& ch, DeviceMap devices) : m_ch(ch), m_devices(std::move(devices)) {
  g_devices = &m_devices;
}

Result<proto::Frame> Server::next_frame() {
  if (!m_pending.empty()) {
    proto::Frame f = std::move(m_pending.front());
    m_pending.pop_front();
    return f;
  }
  return m_ch.read();
}

Result<bool> Server::poll_cancel(uint64_t id) {
  bool cancel = false;
  while (DK_TRY(m_ch.readable(0))) {
    proto::Frame f = DK_TRY(m_ch.read());
    if (f.kind == proto::FrameKind::Json) {
      nlohmann::json jid;
      auto r = proto::parse_request(f.body, &jid);
      if (r && r->cancel) {
        if (r->num_id == id) cancel = true;
        continue;  // a cancel for a finished request needs no answer
      }
    }
    m_pending.push_back(std::move(f));
  }
  return cancel;
}

Result<void> Server::serve(proto::Frame f) {
  if (f.kind == proto::FrameKind::Bad)
    return m_ch.write_json(proto::make_error_reply(nullptr, Error{EPROTO, "malformed frame: " + f.body}));
  if (f.kind == proto::FrameKind::Data)
    return {};  // data for no running request (a cancelled upload's tail): dropped
  nlohmann::json id;
  auto req = proto::parse_request(f.body, &id);
  if (!req) return m_ch.write_json(proto::make_error_reply(id, req.error()));
  if (req->cancel) return {};  // the request already finished
  OpFn fn = find_op(req->op);
  RequestContext ctx(*this, *req);
  Result<nlohmann::json> r = fn ? call_op(fn, ctx) : Result<nlohmann::json>(make_error(ENOSYS, "unknown op '" + req->op + "'"));
  if (auto d = ctx.drain_upload(); !d && d.error().code != ECANCELED) return make_error(d.error());
  if (r) return m_ch.write_json(proto::make_result(req->id, std::move(*r)));
  Error e = r.error();
  if (ctx.cancelled() && e.code != ECANCELED) e = Error{ECANCELED, e.message};
  return m_ch.write_json(proto::make_error_reply(req->id, Error{e.code, req->op + ": " + e.message}));
}

int Server::run() {
  while (!g_shutdown) {
    auto f = next_frame();
    if (!f) return f.error().code == ENODATA ? 0 : 1;
    if (auto r = serve(std::move(*f)); !r) return 1;
  }
  return 0;
}

}  // namespace dk::agent
