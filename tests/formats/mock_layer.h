// MockLayer: an in-memory Layer for unit tests of the request pipeline, the
// chain and the filters. It keeps a per-grain allocation map (data, zero or
// unallocated = ask the backing layer), records every driver call so tests
// can check alignment and splitting, and injects faults.
#pragma once

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "formats/layer.h"

namespace dk::fmt::testing {

class MockLayer : public Layer {
 public:
  enum class Alloc : uint8_t { kUnallocated, kData, kZero };
  struct Call {
    char op;  // 'r' read, 'w' write, 'z' write_zeroes, 'd' discard, 'f' flush, 's' block_status
    uint64_t off;
    uint64_t len;
  };

  // A layer of `size` bytes, all unallocated, tracked in `grain`-byte units.
  MockLayer(std::string name, uint64_t size, bool writable = true, uint64_t grain = 512)
      : Layer(std::move(name), writable), m_size(size), m_grain(grain),
        m_data(size), m_alloc((size + grain - 1) / grain, Alloc::kUnallocated) {}

  // ---- configuration ----
  std::string format = "mock";
  std::string backing_name;          // reported by backing_filename()
  std::string backing_fmt;
  uint32_t align = 1;                // request_alignment()
  uint64_t max_xfer = 64u << 20;     // max_transfer()
  bool zeroes_supported = true;      // false: do_write_zeroes answers ENOTSUP
  bool discard_supported = true;
  int fail_read_nth = 0;             // fail the Nth do_read call (1-based) with EIO; 0: never
  int fail_write_nth = 0;            // same for do_write
  uint64_t short_after = UINT64_MAX; // reads reaching past this offset fail like a truncated file

  std::vector<Call> calls;
  int reads = 0;
  int writes = 0;

  // Marks [off, off+len) (grain-rounded) and fills data ranges with `fill`.
  void set_alloc(uint64_t off, uint64_t len, Alloc a, uint8_t fill = 0) {
    for (uint64_t g = off / m_grain; g * m_grain < off + len && g < m_alloc.size(); g++) {
      m_alloc[g] = a;
      uint64_t s = g * m_grain, n = std::min(m_grain, m_size - s);
      std::memset(m_data.data() + s, a == Alloc::kData ? fill : 0, n);
    }
  }
  Alloc alloc_at(uint64_t off) const { return m_alloc[off / m_grain]; }
  const std::vector<std::byte>& raw_data() const { return m_data; }

  // ---- Layer ----
  std::string_view format_name() const override { return format; }
  uint64_t size() const override { return m_size; }
  Result<uint64_t> actual_size() const override { return m_size; }
  uint64_t max_transfer() const override { return max_xfer; }
  uint32_t request_alignment() const override { return align; }
  std::string backing_filename() const override { return backing_name; }
  std::string backing_format() const override { return backing_fmt; }

 protected:
  Result<void> do_read(uint64_t off, std::span<std::byte> out) override {
    calls.push_back({'r', off, out.size()});
    if (++reads == fail_read_nth) return make_error(EIO, "injected read error at " + std::to_string(off));
    if (off + out.size() > short_after)
      return make_error(EIO, "unexpected end of file in '" + filename() + "' at offset " +
                                 std::to_string(std::max(off, short_after)));
    uint64_t p = off;
    while (p < off + out.size()) {
      uint64_t g = p / m_grain;
      uint64_t end = std::min((g + 1) * m_grain, off + out.size());
      auto dst = out.subspan(p - off, end - p);
      if (m_alloc[g] == Alloc::kUnallocated)
        DK_TRY(read_below(p, dst));
      else
        std::memcpy(dst.data(), m_data.data() + p, dst.size());
      p = end;
    }
    return {};
  }

  Result<void> do_write(uint64_t off, std::span<const std::byte> in) override {
    calls.push_back({'w', off, in.size()});
    if (++writes == fail_write_nth) return make_error(EIO, "injected write error at " + std::to_string(off));
    // Copy-on-write: a partly written unallocated grain first takes the data below.
    for (uint64_t g = off / m_grain; g * m_grain < off + in.size(); g++) {
      if (m_alloc[g] == Alloc::kUnallocated) {
        uint64_t s = g * m_grain;
        DK_TRY(read_below(s, std::span(m_data).subspan(s, std::min(m_grain, m_size - s))));
      }
      m_alloc[g] = Alloc::kData;
    }
    std::memcpy(m_data.data() + off, in.data(), in.size());
    return {};
  }

  Result<void> do_write_zeroes(uint64_t off, uint64_t len, bool) override {
    calls.push_back({'z', off, len});
    if (!zeroes_supported) return make_error(ENOTSUP, "no write_zeroes");
    return zero_range(off, len);
  }

  Result<void> do_discard(uint64_t off, uint64_t len) override {
    calls.push_back({'d', off, len});
    if (!discard_supported) return make_error(ENOTSUP, "no discard");
    return zero_range(off, len);
  }

  Result<void> do_flush() override {
    calls.push_back({'f', 0, 0});
    return {};
  }

  Result<Extent> do_block_status(uint64_t off, uint64_t len) override {
    calls.push_back({'s', off, len});
    Alloc a = m_alloc[off / m_grain];
    uint64_t end = off;
    while (end < off + len && m_alloc[end / m_grain] == a) end = (end / m_grain + 1) * m_grain;
    Extent e;
    e.length = std::min(end, off + len) - off;
    if (a == Alloc::kData) {
      e.flags = kStatusData | kStatusOffsetValid;
      e.offset = off;
      e.file = filename();
    } else if (a == Alloc::kZero) {
      e.flags = kStatusZero;
    }
    return e;
  }

  Result<void> do_truncate(uint64_t new_size, bool shrink_allowed) override {
    if (new_size < m_size && !shrink_allowed) return make_error(EINVAL, "shrink not allowed");
    m_size = new_size;
    m_data.resize(new_size);
    m_alloc.resize((new_size + m_grain - 1) / m_grain, Alloc::kUnallocated);
    return {};
  }

 private:
  // Whole grains become zero; partial grains get zeroes written as data.
  Result<void> zero_range(uint64_t off, uint64_t len) {
    for (uint64_t p = off; p < off + len;) {
      uint64_t g = p / m_grain;
      uint64_t s = g * m_grain, e = std::min(s + m_grain, m_size);
      uint64_t end = std::min(e, off + len);
      if (p == s && end == e) {
        m_alloc[g] = Alloc::kZero;
        std::memset(m_data.data() + s, 0, e - s);
      } else {
        std::vector<std::byte> z(end - p);
        DK_TRY(do_write(p, z));
      }
      p = end;
    }
    return {};
  }

  uint64_t m_size;
  uint64_t m_grain;
  std::vector<std::byte> m_data;
  std::vector<Alloc> m_alloc;
};

}  // namespace dk::fmt::testing
