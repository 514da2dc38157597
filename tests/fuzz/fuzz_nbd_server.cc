// Fuzz target: the input is what an NBD client sends; one Session serves it
// over an in-memory transport against a 256 KiB mock image (data, zero and
// unallocated ranges). The first byte picks a set-up so the fuzzer reaches
// the transmission phase without having to find a handshake first:
//   bit 0: prepend a valid handshake (client flags, STRUCTURED_REPLY,
//          SET_META_CONTEXT base:allocation, GO "");
//   bit 1: prepend client flags only (the options come from the input);
//   bit 2: the export is read-only;   bit 3: two exports ("" and "b");
//   bit 4: the rest is a list of records the harness frames with the right
//          magic numbers (see frame()), because coverage-guided mutation
//          rarely finds a 64-bit magic on its own; otherwise raw bytes.
// Errors are fine; crashes, hangs, leaks and unbounded allocation are not.
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <array>
#include <span>
#include <memory>
#include <vector>

#include "formats/core/endian.h"
#include "nbd/export.h"
#include "nbd/protocol.h"
#include "nbd/session.h"
#include "nbd/transport.h"
#include "tests/formats/mock_layer.h"

namespace {

using dk::fmt::testing::MockLayer;

void put32(std::vector<std::byte>& v, uint32_t x) {
  size_t n = v.size();
  v.resize(n + 4);
  dk::store_be32(v.data() + n, x);
}

void option(std::vector<std::byte>& v, uint32_t opt, const std::vector<std::byte>& data) {
  size_t n = v.size();
  v.resize(n + 8);
  dk::store_be64(v.data() + n, dk::nbd::kIHaveOpt);
  put32(v, opt);
  put32(v, static_cast<uint32_t>(data.size()));
  v.insert(v.end(), data.begin(), data.end());
}

std::vector<std::byte> handshake() {
  using namespace dk::nbd;
  std::vector<std::byte> v;
  put32(v, NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
  option(v, NBD_OPT_STRUCTURED_REPLY, {});
  std::vector<std::byte> meta;
  put32(meta, 0);
  put32(meta, 1);
  put32(meta, static_cast<uint32_t>(kBaseAllocation.size()));
  for (char c : kBaseAllocation) meta.push_back(std::byte(c));
  option(v, NBD_OPT_SET_META_CONTEXT, meta);
  std::vector<std::byte> go;
  put32(go, 0);
  go.push_back(std::byte{0});
  go.push_back(std::byte{0});
  option(v, NBD_OPT_GO, go);
  return v;
}

// Records: a tag byte, then by tag % 4:
//   0 option: opt(1) len(1) data(len)   1 request: flags(2) type(1) off(4) len(4)
//   2 raw: n(1) bytes(n)                3 request: the next 24 bytes after the magic
// A WRITE request is followed by min(len, 4096) payload bytes.
void frame(std::span<const uint8_t> in, std::vector<std::byte>& out) {
  using namespace dk::nbd;
  size_t i = 0;
  auto byte = [&]() -> uint8_t { return i < in.size() ? in[i++] : 0; };
  auto be32 = [&]() {
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) v = (v << 8) | byte();
    return v;
  };
  while (i < in.size()) {
    uint8_t tag = byte();
    if (tag % 4 == 0) {
      uint32_t opt = byte(), len = byte();
      std::vector<std::byte> d;
      for (uint32_t k = 0; k < len && i < in.size(); ++k) d.push_back(std::byte(byte()));
      option(out, opt, d);
    } else if (tag % 4 == 2) {
      uint32_t n = byte();
      for (uint32_t k = 0; k < n && i < in.size(); ++k) out.push_back(std::byte(byte()));
    } else {
      Request r;
      r.magic = NBD_REQUEST_MAGIC;
      r.flags = static_cast<uint16_t>(byte() << 8 | byte());
      r.type = tag % 4 == 1 ? byte() % 10 : static_cast<uint16_t>(byte() << 8 | byte());
      r.cookie = i;
      r.offset = tag % 4 == 1 ? be32() : (uint64_t{be32()} << 32 | be32());
      r.length = tag % 4 == 1 ? be32() % (600u << 10) : be32();
      std::array<std::byte, kRequestSize> raw;
      encode_request(r, raw);
      out.insert(out.end(), raw.begin(), raw.end());
      if (r.type == NBD_CMD_WRITE)
        out.insert(out.end(), std::min<size_t>(r.length, 4096), std::byte{0x77});
    }
  }
}

std::unique_ptr<dk::nbd::Export> make_export(std::string name, bool read_only) {
  auto layer = std::make_unique<MockLayer>("fuzz", 256 << 10, !read_only, 4096);
  layer->set_alloc(0, 64 << 10, MockLayer::Alloc::kData, 0x5a);
  layer->set_alloc(128 << 10, 64 << 10, MockLayer::Alloc::kZero);
  layer->set_alloc(200 << 10, 4096, MockLayer::Alloc::kData, 0xa5);
  dk::nbd::ExportSpec spec;
  spec.name = std::move(name);
  spec.description = "fuzz";
  spec.read_only = read_only;
  return std::make_unique<dk::nbd::Export>(spec, std::move(layer));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  std::vector<std::byte> in;
  if (mode & 1) {
    in = handshake();
  } else if (mode & 2) {
    put32(in, dk::nbd::NBD_FLAG_C_FIXED_NEWSTYLE | dk::nbd::NBD_FLAG_C_NO_ZEROES);
  }
  if (mode & 16) {
    frame(std::span(data + 1, size - 1), in);
  } else {
    const auto* p = reinterpret_cast<const std::byte*>(data + 1);
    in.insert(in.end(), p, p + size - 1);
  }

  auto a = make_export("", mode & 4);
  std::unique_ptr<dk::nbd::Export> b;
  std::vector<dk::nbd::Export*> exports{a.get()};
  if (mode & 8) {
    b = make_export("b", false);
    exports.push_back(b.get());
  }
  dk::nbd::MemoryTransport t(in, 4u << 20);
  {
    dk::nbd::Session s(t, exports);
    (void)s.run();
  }
  // Every session gives its client slot back.
  if (a->clients() != 0) __builtin_trap();
  return 0;
}
