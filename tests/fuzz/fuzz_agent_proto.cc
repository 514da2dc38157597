// Fuzzes the agent protocol's decoder: a byte stream read as frames
// (length prefix, kind, data header) and every JSON frame parsed as a
// request, as the agent does with what the host sends, and read as a
// reply, as the host does with what the agent sends (never trusted).
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "appliance/proto/frame.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int fd = ::memfd_create("proto", 0);
  if (fd < 0) return 0;
  if (size && ::write(fd, data, size) != static_cast<ssize_t>(size)) {
    ::close(fd);
    return 0;
  }
  ::lseek(fd, 0, SEEK_SET);
  dk::proto::Channel ch(fd, -1);
  for (int i = 0; i < 64; ++i) {
    auto f = ch.read();
    if (!f) break;
    if (f->kind == dk::proto::FrameKind::Json) {
      nlohmann::json id;
      (void)dk::proto::parse_request(f->body, &id);
      auto msg = nlohmann::json::parse(f->body, nullptr, false);
      (void)dk::proto::reply_has_id(msg, 1);
      if (msg.is_object())
        if (auto e = msg.find("error"); e != msg.end()) {
          dk::Error err = dk::proto::reply_error(*e, "failed");
          if (err.code <= 0 || err.code >= 4096) __builtin_trap();
        }
    }
  }
  ::close(fd);
  return 0;
}
