// An in-memory Layer for engine tests: per-byte allocation state, a log of
// the requests it receives, optional fault injection and an optional
// SplitCompression capability.
#pragma once

#include <algorithm>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "formats/convert/convert.h"
#include "formats/layer.h"

namespace dk::fmt::testing {

enum : uint8_t { kUnalloc = 0, kData = 1, kZero = 2 };

struct Request {
  char kind;  // 'r' read, 'w' write, 'z' write_zeroes (unmap), 'k' write_zeroes (keep), 'c' compressed, 'p' payload
  uint64_t off, len;
  bool operator==(const Request&) const = default;
};

class MemLayer : public Layer {
 public:
  MemLayer(std::string name, uint64_t size, bool writable, std::optional<uint64_t> cluster = std::nullopt)
      : Layer(std::move(name), writable), m_bytes(size), m_state(size, kUnalloc), m_cluster(cluster) {}

  // Test set-up: stores data as allocated.
  // (Not locked: callers hold m_mu or run single-threaded.)
  void put(uint64_t off, std::span<const std::byte> in) {
    std::memcpy(m_bytes.data() + off, in.data(), in.size());
    std::fill_n(m_state.begin() + off, in.size(), kData);
  }
  void put_pattern(uint64_t off, uint64_t len, uint8_t seed) {
    std::vector<std::byte> v(len);
    for (uint64_t i = 0; i < len; ++i) v[i] = std::byte(static_cast<uint8_t>(seed + i * 7 + (i >> 9)) | 1);
    put(off, v);
  }
  void put_zero_flag(uint64_t off, uint64_t len) {
    std::fill_n(m_bytes.begin() + off, len, std::byte{0});
    std::fill_n(m_state.begin() + off, len, kZero);
  }
  // Reads the guest view (through the backing chain) for checks.
  std::vector<std::byte> contents() {
    std::vector<std::byte> v(size());
    size_t logged = log.size();
    if (!v.empty() && !read(0, v)) v.clear();
    log.resize(logged);  // checks are not part of the request log
    return v;
  }

  std::vector<uint8_t>& state() { return m_state; }
  std::vector<Request> log;
  std::optional<uint64_t> fail_read_at, fail_write_at;
  bool compress_supported = true;

  // "raw" makes the engine treat the layer as thread-safe (parallel I/O).
  std::string fmt_name = "mem";
  std::string_view format_name() const override { return fmt_name; }
  uint64_t size() const override { return m_bytes.size(); }
  std::optional<uint64_t> cluster_size() const override { return m_cluster; }
  Result<uint64_t> actual_size() const override { return 0; }

 protected:
  bool hits(std::optional<uint64_t> at, uint64_t off, uint64_t len) const { return at && *at >= off && *at < off + len; }

  Result<void> do_read(uint64_t off, std::span<std::byte> out) override {
    { std::lock_guard lk(m_mu); log.push_back({'r', off, out.size()}); }
    if (hits(fail_read_at, off, out.size())) return make_error(EIO, "injected read error");
    for (uint64_t i = 0; i < out.size();) {
      uint64_t run = 1;
      while (i + run < out.size() && m_state[off + i + run] == m_state[off + i]) ++run;
      if (m_state[off + i] == kUnalloc)
        DK_TRY(read_below(off + i, out.subspan(i, run)));
      else
        std::memcpy(out.data() + i, m_bytes.data() + off + i, run);
      i += run;
    }
    return {};
  }
  Result<void> do_write(uint64_t off, std::span<const std::byte> in) override {
    std::lock_guard lk(m_mu);
    log.push_back({'w', off, in.size()});
    if (hits(fail_write_at, off, in.size())) return make_error(EIO, "injected write error");
    put(off, in);
    return {};
  }
  Result<void> do_write_zeroes(uint64_t off, uint64_t len, bool unmap) override {
    std::lock_guard lk(m_mu);
    log.push_back({unmap ? 'z' : 'k', off, len});
    if (hits(fail_write_at, off, len)) return make_error(EIO, "injected write error");
    if (unmap && !backing()) {
      std::fill_n(m_bytes.begin() + off, len, std::byte{0});
      std::fill_n(m_state.begin() + off, len, kUnalloc);
    } else {
      put_zero_flag(off, len);
    }
    return {};
  }
  Result<Extent> do_block_status(uint64_t off, uint64_t len) override {
    uint64_t n = 1;
    while (n < len && m_state[off + n] == m_state[off]) ++n;
    Extent e;
    e.length = n;
    e.flags = m_state[off] == kData ? kStatusData : m_state[off] == kZero ? kStatusZero : 0;
    return e;
  }
  Result<void> do_write_compressed(uint64_t off, std::span<const std::byte> in) override {
    if (!compress_supported) return make_error(ENOTSUP, "no compression");
    log.push_back({'c', off, in.size()});
    put(off, in);
    return {};
  }

  std::mutex m_mu;
  std::vector<std::byte> m_bytes;
  std::vector<uint8_t> m_state;
  std::optional<uint64_t> m_cluster;
};

// A MemLayer that also offers split compression; "compressing" is a copy
// with a marker byte, so the store step can check it got the right payload.
class SplitMemLayer : public MemLayer, public SplitCompression {
 public:
  using MemLayer::MemLayer;
  Result<std::optional<std::vector<std::byte>>> compress_cluster(std::span<const std::byte> in) const override {
    if (in.size() > 0 && in[0] == std::byte{0xff}) return std::optional<std::vector<std::byte>>();  // "incompressible"
    std::vector<std::byte> v(in.begin(), in.end());
    v.push_back(std::byte{0xa5});
    return std::optional<std::vector<std::byte>>(std::move(v));
  }
  Result<void> write_compressed_payload(uint64_t off, std::span<const std::byte> payload) override {
    log.push_back({'p', off, payload.size() - 1});
    if (payload.empty() || payload.back() != std::byte{0xa5}) return make_error(EIO, "bad payload");
    put(off, payload.first(payload.size() - 1));
    return {};
  }
};

}  // namespace dk::fmt::testing
