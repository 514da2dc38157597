// Temporary copy-on-write overlay (QEMU's -snapshot, nbdkit's cow filter):
// written grains live in an unlinked scratch file, everything else is read
// from the layer below, which is never written.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "formats/core/checked_math.h"
#include "formats/core/file.h"
#include "formats/filters/filter.h"
#include "formats/filters/filters.h"

namespace dk::fmt {

namespace {

constexpr uint64_t kGrain = 64 * 1024;
// Grain map entries: kInner (read below), kZero, or slot+1 in the scratch file.
constexpr uint32_t kInner = 0;
constexpr uint32_t kZero = UINT32_MAX;
constexpr uint32_t kMaxSlots = UINT32_MAX - 2;
// The map is paged so memory grows with what was written, not with the
// (possibly huge, header-claimed) virtual size.
constexpr uint64_t kPageGrains = 4096;

Result<File> open_scratch(CowStorage storage) {
  std::string dir = "/dev/shm";
  if (storage == CowStorage::kTempFile) {
    const char* t = ::getenv("TMPDIR");
    dir = t && *t ? t : "/var/tmp";
  }
  auto f = File::open(dir, O_TMPFILE | O_RDWR, 0600);
  if (f) return f;
  // File systems without O_TMPFILE: create and unlink at once.
  std::string tmpl = dir + "/diskit-cow-XXXXXX";
  int fd = ::mkstemp(tmpl.data());
  if (fd < 0) return errno_error("could not create a temporary overlay in '" + dir + "'");
  auto g = File::open(tmpl, O_RDWR);
  ::unlink(tmpl.c_str());
  ::close(fd);
  return g;
}

class CowLayer final : public FilterLayer {
 public:
  CowLayer(Layer& inner, std::unique_ptr<Layer> owned, File scratch)
      : FilterLayer(inner, std::move(owned), /*writable=*/true), m_scratch(std::move(scratch)),
        m_size(inner.size()) {}

  uint64_t size() const override { return m_size; }

 protected:
  Result<void> do_read(uint64_t off, std::span<std::byte> out) override;
  Result<void> do_write(uint64_t off, std::span<const std::byte> in) override;
  Result<void> do_write_zeroes(uint64_t off, uint64_t len, bool) override { return zero(off, len); }
  // Discarded data may read as anything; zero hides the layer below.
  Result<void> do_discard(uint64_t off, uint64_t len) override { return zero(off, len); }
  Result<void> do_flush() override { return {}; }  // temporary by design
  Result<Extent> do_block_status(uint64_t off, uint64_t len) override;

 private:
  uint32_t entry(uint64_t g) const {
    auto it = m_map.find(g / kPageGrains);
    return it == m_map.end() ? kInner : it->second[g % kPageGrains];
  }
  void set_entry(uint64_t g, uint32_t v) {
    uint32_t old = entry(g);
    if (old != kInner && old != kZero) m_free.push_back(old - 1);
    auto& page = m_map[g / kPageGrains];
    if (page.empty()) page.assign(kPageGrains, kInner);
    page[g % kPageGrains] = v;
  }
  uint64_t grain_len(uint64_t g) const { return std::min(kGrain, m_size - g * kGrain); }
  Result<uint32_t> new_slot();
  Result<void> zero(uint64_t off, uint64_t len);

  File m_scratch;
  uint64_t m_size;
  std::unordered_map<uint64_t, std::vector<uint32_t>> m_map;
  std::vector<uint32_t> m_free;
  uint32_t m_next_slot = 0;
};

Result<uint32_t> CowLayer::new_slot() {
  if (!m_free.empty()) {
    uint32_t s = m_free.back();
    m_free.pop_back();
    return s;
  }
  if (m_next_slot >= kMaxSlots) return make_error(ENOSPC, "temporary overlay is full");
  return m_next_slot++;
}

Result<void> CowLayer::do_read(uint64_t off, std::span<std::byte> out) {
  const uint64_t end = off + out.size();
  uint64_t p = off;
  while (p < end) {
    uint64_t g = p / kGrain;
    uint32_t e = entry(g);
    // Coalesce a run of grains that all come from below into one read.
    uint64_t run_end = std::min((g + 1) * kGrain, end);
    if (e == kInner)
      while (run_end < end && entry(run_end / kGrain) == kInner)
        run_end = std::min(run_end + kGrain, end);
    auto dst = out.subspan(p - off, run_end - p);
    if (e == kInner)
      DK_TRY(inner().read(p, dst));
    else if (e == kZero)
      std::memset(dst.data(), 0, dst.size());
    else
      DK_TRY(m_scratch.pread_exact(uint64_t(e - 1) * kGrain + (p - g * kGrain), dst));
    p = run_end;
  }
  return {};
}

Result<void> CowLayer::do_write(uint64_t off, std::span<const std::byte> in) {
  const uint64_t end = off + in.size();
  std::vector<std::byte> grain;
  for (uint64_t p = off; p < end;) {
    uint64_t g = p / kGrain, gstart = g * kGrain, glen = grain_len(g);
    uint64_t n = std::min(gstart + glen, end) - p;
    auto src = in.subspan(p - off, n);
    uint32_t e = entry(g);
    if (e != kInner && e != kZero) {
      DK_TRY(m_scratch.pwrite_all(uint64_t(e - 1) * kGrain + (p - gstart), src));
    } else {
      // First write to this grain: copy what it reads as now, then overlay.
      grain.assign(glen, std::byte{0});
      if (e == kInner && n < glen) DK_TRY(inner().read(gstart, grain));
      std::memcpy(grain.data() + (p - gstart), src.data(), n);
      uint32_t slot = DK_TRY(new_slot());
      DK_TRY(m_scratch.pwrite_all(uint64_t(slot) * kGrain, grain));
      set_entry(g, slot + 1);
    }
    p += n;
  }
  return {};
}

Result<void> CowLayer::zero(uint64_t off, uint64_t len) {
  const uint64_t end = off + len;
  for (uint64_t p = off; p < end;) {
    uint64_t g = p / kGrain, gstart = g * kGrain, glen = grain_len(g);
    uint64_t n = std::min(gstart + glen, end) - p;
    if (n == glen) {
      set_entry(g, kZero);
    } else {
      std::vector<std::byte> z(n);
      DK_TRY(do_write(p, z));
    }
    p += n;
  }
  return {};
}

Result<Extent> CowLayer::do_block_status(uint64_t off, uint64_t len) {
  const uint64_t end = off + len;
  uint64_t g = off / kGrain;
  uint32_t e = entry(g);
  auto kind = [](uint32_t v) { return v == kInner ? 0 : v == kZero ? 1 : 2; };
  uint64_t run_end = std::min((g + 1) * kGrain, end);
  while (run_end < end && kind(entry(run_end / kGrain)) == kind(e)) run_end = std::min(run_end + kGrain, end);
  if (e == kInner) return chain_extent(inner(), off, run_end - off);
  Extent x;
  x.length = run_end - off;
  x.flags = e == kZero ? kStatusZero : kStatusData;
  return x;
}

}  // namespace

Result<std::unique_ptr<Layer>> make_cow_overlay(Layer& inner, CowStorage storage) {
  File f = DK_TRY(open_scratch(storage));
  return std::unique_ptr<Layer>(new CowLayer(inner, nullptr, std::move(f)));
}

Result<std::unique_ptr<Layer>> make_cow_overlay(std::unique_ptr<Layer> inner, CowStorage storage) {
  File f = DK_TRY(open_scratch(storage));
  Layer& ref = *inner;
  return std::unique_ptr<Layer>(new CowLayer(ref, std::move(inner), std::move(f)));
}

}  // namespace dk::fmt
