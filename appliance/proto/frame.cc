#include "appliance/proto/frame.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>


namespace dk::proto {
namespace {

void put_u32(std::string& s, uint32_t v) {
  for (int i = 3; i >= 0; --i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void put_u64(std::string& s, uint64_t v) {
  for (int i = 7; i >= 0; --i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t get_be(const char* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

}  // namespace

std::string encode_json(const nlohmann::json& msg) {
  // Invalid UTF-8 in a string (a file name) is replaced rather than thrown.
  std::string text = msg.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string out;
  out.reserve(text.size() + 5);
  put_u32(out, static_cast<uint32_t>(text.size() + 1));
  out.push_back('J');
  out += text;
  return out;
}

std::string encode_data(uint64_t id, std::span<const std::byte> data) {
  std::string out;
  out.reserve(data.size() + 13);
  put_u32(out, static_cast<uint32_t>(data.size() + 9));
  out.push_back('D');
  put_u64(out, id);
  out.append(reinterpret_cast<const char*>(data.data()), data.size());
  return out;
}

Frame decode_payload(std::string_view p) {
  Frame f;
  if (p.empty()) {
    f.body = "empty frame";
    return f;
  }
  if (p[0] == 'J') {
    f.kind = FrameKind::Json;
    f.body.assign(p.substr(1));
  } else if (p[0] == 'D') {
    if (p.size() < 9) {
      f.body = "data frame of " + std::to_string(p.size()) + " bytes is shorter than its header";
      return f;
    }
    f.kind = FrameKind::Data;
    f.id = get_be(p.data() + 1, 8);
    f.body.assign(p.substr(9));
  } else {
    f.body = "unknown frame kind 0x" + [&] {
      char b[4];
      std::snprintf(b, sizeof b, "%02x", static_cast<unsigned char>(p[0]));
      return std::string(b);
    }();
  }
  return f;
}

Result<void> Channel::read_exact(char* buf, size_t n, bool at_start) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::read(m_in, buf + got, n - got);
    if (r < 0) {
      if (errno == EINTR) continue;
      return errno_error("reading the agent channel");
    }
    if (r == 0) {
      if (at_start && got == 0) return make_error(ENODATA, "end of input");
      return make_error(EPIPE, "the agent channel closed inside a frame");
    }
    got += static_cast<size_t>(r);
  }
  return {};
}

Result<Frame> Channel::read() {
  char hdr[4];
  DK_TRY(read_exact(hdr, 4, true));
  uint64_t len = get_be(hdr, 4);
  if (len > kMaxFrame) {
    // Drop the frame's bytes so the next frame starts where it should.
    char sink[65536];
    uint64_t left = len;
    while (left > 0) {
      size_t n = left < sizeof sink ? static_cast<size_t>(left) : sizeof sink;
      DK_TRY(read_exact(sink, n, false));
      left -= n;
    }
    Frame f;
    f.body = "frame of " + std::to_string(len) + " bytes exceeds the limit of " + std::to_string(kMaxFrame);
    return f;
  }
  std::string payload(static_cast<size_t>(len), '\0');
  if (len > 0) DK_TRY(read_exact(payload.data(), payload.size(), false));
  return decode_payload(payload);
}

Result<bool> Channel::readable(int timeout_ms) {
  pollfd p{m_in, POLLIN, 0};
  for (;;) {
    int r = ::poll(&p, 1, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return errno_error("polling the agent channel");
    return r > 0;
  }
}

Result<void> Channel::write_raw(std::string_view bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t w = ::write(m_out, bytes.data() + done, bytes.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno_error("writing the agent channel");
    }
    done += static_cast<size_t>(w);
  }
  return {};
}

Result<void> Channel::write_json(const nlohmann::json& msg) { return write_raw(encode_json(msg)); }

Result<void> Channel::write_data(uint64_t id, std::span<const std::byte> data) {
  // An empty span is sent as one empty chunk (the end of an upload).
  do {
    size_t n = std::min(data.size(), kChunk);
    DK_TRY(write_raw(encode_data(id, data.first(n))));
    data = data.subspan(n);
  } while (!data.empty());
  return {};
}

Result<Request> parse_request(std::string_view text, nlohmann::json* id_out) {
  *id_out = nullptr;
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) return make_error(EINVAL, "malformed JSON in request");
  if (!j.is_object()) return make_error(EINVAL, "request is not a JSON object");
  Request r;
  auto id = j.find("id");
  if (id == j.end() || !id->is_number_unsigned()) {
    if (id != j.end() && id->is_number_integer()) *id_out = *id;
    return make_error(EINVAL, "request has no unsigned integer 'id'");
  }
  r.id = *id;
  r.num_id = id->get<uint64_t>();
  *id_out = r.id;
  if (auto c = j.find("cancel"); c != j.end() && c->is_boolean() && c->get<bool>()) {
    r.cancel = true;
    return r;
  }
  auto op = j.find("op");
  if (op == j.end() || !op->is_string()) return make_error(EINVAL, "request has no string 'op'");
  r.op = op->get<std::string>();
  if (auto a = j.find("args"); a != j.end() && !a->is_null()) {
    if (!a->is_object()) return make_error(EINVAL, "'args' of request '" + r.op + "' is not an object");
    r.args = *a;
  }
  if (auto u = j.find("upload"); u != j.end()) {
    if (!u->is_boolean()) return make_error(EINVAL, "'upload' of request '" + r.op + "' is not a boolean");
    r.upload = u->get<bool>();
  }
  return r;
}

nlohmann::json make_result(const nlohmann::json& id, nlohmann::json result) {
  return nlohmann::json{{"id", id}, {"result", std::move(result)}};
}

nlohmann::json make_error_reply(const nlohmann::json& id, const Error& e) {
  return nlohmann::json{{"id", id}, {"error", {{"errno", e.code}, {"message", e.message}}}};
}

nlohmann::json make_progress(uint64_t id, uint64_t done, uint64_t total) {
  return nlohmann::json{{"id", id}, {"progress", {{"done", done}, {"total", total}}}};
}

bool reply_has_id(const nlohmann::json& msg, uint64_t id) {
  if (!msg.is_object()) return false;
  auto it = msg.find("id");
  if (it == msg.end() || !it->is_number_integer()) return false;
  if (it->is_number_unsigned()) return it->get<uint64_t>() == id;
  int64_t v = it->get<int64_t>();
  return v >= 0 && static_cast<uint64_t>(v) == id;
}

Error reply_error(const nlohmann::json& error, const std::string& fallback) {
  int code = EIO;
  std::string message = fallback;
  if (error.is_object()) {
    if (auto c = error.find("errno"); c != error.end() && c->is_number_integer()) {
      int64_t v = c->get<int64_t>();
      if (v > 0 && v < 4096) code = static_cast<int>(v);
    }
    if (auto m = error.find("message"); m != error.end() && m->is_string()) message = m->get<std::string>();
  }
  return Error{code, message};
}

}  // namespace dk::proto
