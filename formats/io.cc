// The request pipeline: bounds, read-only checks, splitting, alignment and
// fallbacks between Layer's public methods and the drivers' do_* hooks.
#include <algorithm>
#include <cstring>
#include <vector>

#include "formats/core/checked_math.h"
#include "formats/layer.h"

namespace dk::fmt {

Layer::~Layer() = default;

namespace {

Result<void> check_range(const Layer& l, uint64_t off, uint64_t len) {
  if (!range_within(off, len, l.size()))
    return make_error(EINVAL, "request at offset " + std::to_string(off) + " length " +
                                  std::to_string(len) + " is beyond the end of the image (" +
                                  std::to_string(l.size()) + " bytes)");
  return {};
}

Result<void> check_writable(const Layer& l) {
  if (!l.writable()) return make_error(EROFS, "image '" + l.filename() + "' is opened read-only");
  return {};
}

}  // namespace

Result<void> Layer::read(uint64_t off, std::span<std::byte> out) {
  DK_TRY(check_range(*this, off, out.size()));
  const uint64_t align = request_alignment();
  const uint64_t max = std::max<uint64_t>(align, align_down(max_transfer(), align));
  while (!out.empty()) {
    uint64_t head = off % align;
    if (head == 0 && out.size() >= align) {
      size_t n = std::min<uint64_t>(align_down(out.size(), align), max);
      DK_TRY(do_read(off, out.first(n)));
      off += n;
      out = out.subspan(n);
      continue;
    }
    // Unaligned edge: bounce through one aligned block.
    std::vector<std::byte> bounce(align);
    uint64_t base = off - head;
    uint64_t blen = std::min<uint64_t>(align, size() - base);
    DK_TRY(do_read(base, std::span(bounce).first(blen)));
    size_t n = std::min<uint64_t>(out.size(), blen - head);
    std::memcpy(out.data(), bounce.data() + head, n);
    off += n;
    out = out.subspan(n);
  }
  return {};
}

Result<void> Layer::write(uint64_t off, std::span<const std::byte> in) {
  DK_TRY(check_writable(*this));
  DK_TRY(check_range(*this, off, in.size()));
  const uint64_t align = request_alignment();
  const uint64_t max = std::max<uint64_t>(align, align_down(max_transfer(), align));
  while (!in.empty()) {
    uint64_t head = off % align;
    if (head == 0 && in.size() >= align) {
      size_t n = std::min<uint64_t>(align_down(in.size(), align), max);
      DK_TRY(do_write(off, in.first(n)));
      off += n;
      in = in.subspan(n);
      continue;
    }
    // Read-modify-write of one aligned block.
    std::vector<std::byte> bounce(align);
    uint64_t base = off - head;
    uint64_t blen = std::min<uint64_t>(align, size() - base);
    DK_TRY(do_read(base, std::span(bounce).first(blen)));
    size_t n = std::min<uint64_t>(in.size(), blen - head);
    std::memcpy(bounce.data() + head, in.data(), n);
    DK_TRY(do_write(base, std::span<const std::byte>(bounce).first(blen)));
    off += n;
    in = in.subspan(n);
  }
  return {};
}

Result<void> Layer::write_zeroes(uint64_t off, uint64_t len, bool may_unmap) {
  DK_TRY(check_writable(*this));
  DK_TRY(check_range(*this, off, len));
  if (len == 0) return {};
  const uint64_t align = request_alignment();
  // Aligned middle goes to the driver; unaligned edges are written as data.
  uint64_t first = std::min<uint64_t>(align_up(off, align), off + len);
  uint64_t last = std::max<uint64_t>(align_down(off + len, align), first);
  if (off % align) {
    std::vector<std::byte> z(first - off);
    DK_TRY(write(off, z));
  }
  if (last > first) {
    // Driver calls stay <= max_transfer (the do_* contract); once the driver
    // answers ENOTSUP the rest is written as zero buffers.
    const uint64_t max = std::max<uint64_t>(align, align_down(max_transfer(), align));
    bool fallback = false;
    for (uint64_t p = first; p < last;) {
      uint64_t n = std::min<uint64_t>(max, last - p);
      if (!fallback) {
        auto r = do_write_zeroes(p, n, may_unmap);
        if (r) {
          p += n;
          continue;
        }
        if (r.error().code != ENOTSUP) return r;
        fallback = true;
      }
      const uint64_t chunk = std::min<uint64_t>(align_up(1u << 20, align), max);
      std::vector<std::byte> z(chunk);
      for (uint64_t q = p; q < last;) {
        uint64_t m = std::min<uint64_t>(chunk, last - q);
        DK_TRY(do_write(q, std::span<const std::byte>(z).first(m)));
        q += m;
      }
      break;
    }
  }
  if (last < off + len && last >= first) {
    std::vector<std::byte> z(off + len - last);
    DK_TRY(write(last, z));
  }
  return {};
}

Result<void> Layer::discard(uint64_t off, uint64_t len) {
  DK_TRY(check_writable(*this));
  DK_TRY(check_range(*this, off, len));
  // Discard is advisory: drop unaligned edges instead of zeroing them
  // (QEMU does the same), and keep driver calls <= max_transfer.
  const uint64_t align = request_alignment();
  uint64_t first = align_up(off, align);
  uint64_t last = off + len == size() ? off + len : align_down(off + len, align);
  const uint64_t max = std::max<uint64_t>(align, align_down(max_transfer(), align));
  for (uint64_t p = first; p < last;) {
    uint64_t n = std::min<uint64_t>(max, last - p);
    auto r = do_discard(p, n);
    if (!r && r.error().code == ENOTSUP) return {};
    if (!r) return r;
    p += n;
  }
  return {};
}

Result<void> Layer::flush() {
  if (!writable()) return {};
  return do_flush();
}

Result<Extent> Layer::block_status(uint64_t off, uint64_t len) {
  DK_TRY(check_range(*this, off, len));
  if (len == 0) return make_error(EINVAL, "block_status of an empty range");
  Extent e = DK_TRY(do_block_status(off, len));
  if (e.length == 0 || e.length > len)
    return make_error(EIO, "driver '" + std::string(format_name()) + "' returned a bad block status length");
  return e;
}

Result<void> Layer::write_compressed(uint64_t off, std::span<const std::byte> in) {
  DK_TRY(check_writable(*this));
  DK_TRY(check_range(*this, off, in.size()));
  return do_write_compressed(off, in);
}

Result<void> Layer::truncate(uint64_t new_size, bool shrink_allowed) {
  DK_TRY(check_writable(*this));
  return do_truncate(new_size, shrink_allowed);
}

Result<void> Layer::set_backing_file(const std::string&, const std::string&) {
  return make_error(ENOTSUP, "format '" + std::string(format_name()) + "' does not support backing files");
}

Result<void> Layer::do_write(uint64_t, std::span<const std::byte>) {
  return make_error(ENOTSUP, "format '" + std::string(format_name()) + "' does not support writing");
}

Result<void> Layer::do_write_zeroes(uint64_t, uint64_t, bool) { return make_error(ENOTSUP, "no write_zeroes"); }

Result<void> Layer::do_discard(uint64_t, uint64_t) { return make_error(ENOTSUP, "no discard"); }

Result<void> Layer::do_flush() { return {}; }

Result<void> Layer::do_write_compressed(uint64_t, std::span<const std::byte>) {
  return make_error(ENOTSUP, "format '" + std::string(format_name()) + "' does not support compression");
}

Result<void> Layer::do_truncate(uint64_t, bool) {
  return make_error(ENOTSUP, "format '" + std::string(format_name()) + "' does not support resizing");
}

Result<void> Layer::read_below(uint64_t off, std::span<std::byte> out) {
  Layer* b = backing();
  if (!b) {
    std::memset(out.data(), 0, out.size());
    return {};
  }
  uint64_t bsize = b->size();
  size_t in_b = off >= bsize ? 0 : std::min<uint64_t>(out.size(), bsize - off);
  if (in_b) DK_TRY(b->read(off, out.first(in_b)));
  if (in_b < out.size()) std::memset(out.data() + in_b, 0, out.size() - in_b);
  return {};
}

}  // namespace dk::fmt
