#include "formats/maint/commit.h"

#include <limits.h>
#include <stdlib.h>

#include <algorithm>
#include <cctype>
#include <vector>

namespace dk::fmt::maint {
namespace {

constexpr uint64_t kStatusChunk = 1ull << 30;  // bytes asked of block_status at once
constexpr uint64_t kCopyChunk = 4ull << 20;    // bytes read and written at once

std::optional<std::string> real_path(const std::string& p) {
  char buf[PATH_MAX];
  if (!::realpath(p.c_str(), buf)) return std::nullopt;
  return std::string(buf);
}

// QEMU's bdrv_find_backing_image: `name` is resolved against each overlay's
// directory and compared, by real path, with the file that overlay's
// backing name resolves to. Returns the overlay whose backing file is BASE.
Layer* find_base_overlay(Layer& top, const std::string& name) {
  for (Layer* l = &top; l->backing(); l = l->backing()) {
    auto want = real_path(resolve_backing_path(l->filename(), name));
    auto have = real_path(l->backing()->filename());
    if (want && have && *want == *have) return l;
  }
  return nullptr;
}

// What the layers above BASE say about [off, off+*len): 0 unallocated (BASE
// or below decides), 1 data, 2 zero. Shrinks *len to one uniform run.
Result<int> status_above(Layer& top, const Layer& base, uint64_t off, uint64_t* len) {
  Layer* l = &top;
  for (;;) {
    Extent e = DK_TRY(l->block_status(off, *len));
    *len = std::min(*len, e.length);
    if (e.allocated()) return e.zero() ? 2 : 1;
    Layer* below = l->backing();
    if (!below || below == &base) return 0;
    // Past the end of a shorter intermediate layer the overlay reads zeroes.
    if (off >= below->size()) return 2;
    *len = std::min(*len, below->size() - off);
    l = below;
  }
}

Result<void> copy_data(Layer& top, Layer& base, uint64_t off, uint64_t len, std::vector<std::byte>& buf) {
  while (len) {
    const uint64_t n = std::min<uint64_t>(len, kCopyChunk);
    if (buf.size() < n) buf.resize(static_cast<size_t>(n));
    auto part = std::span(buf).first(static_cast<size_t>(n));
    DK_TRY(top.read(off, part));
    DK_TRY(base.write(off, part));
    off += n;
    len -= n;
  }
  return {};
}

// Grows BASE to `size` like QEMU's active commit; a longer file below BASE
// must not show through the new area (QEMU truncates with ZERO_WRITE then).
Result<void> grow_base(Layer& base, uint64_t size) {
  const uint64_t old_size = base.size();
  if (size <= old_size) return {};
  DK_TRY(base.truncate(size, false));
  if (Layer* below = base.backing(); below && below->size() > old_size)
    DK_TRY(base.write_zeroes(old_size, std::min(size, below->size()) - old_size));
  return {};
}

Error reopen_error(const std::string& path, const Error& e) {
  // qemu-img: "Could not open 'a.qcow2': Permission denied".
  const std::string prefix = "could not open '" + path + "': ";
  if (e.message.rfind(prefix, 0) == 0) return Error{e.code, "C" + e.message.substr(1)};
  return Error{e.code, "Could not open '" + path + "': " + e.message};
}

}  // namespace

Result<CommitChain> open_commit_chain(const std::string& path, const ChainOptions& opts,
                                      const std::optional<std::string>& base_name) {
  // Like qemu-img: open the whole chain read-only below the overlay first,
  // then find BASE and reopen it writable.
  CommitChain c;
  c.top = DK_TRY(open_chain(path, opts));
  Layer* overlay = nullptr;
  if (base_name) {
    overlay = find_base_overlay(*c.top, *base_name);
    if (!overlay)
      return make_error(EINVAL, "Did not find '" + *base_name + "' in the backing chain of '" + path + "'");
  } else {
    if (!c.top->backing()) return make_error(EINVAL, "Image does not have a backing file");
    overlay = c.top.get();
  }
  // Reopen BASE (and what lies below it) with BASE writable. The read-only
  // copy is closed first: its lock would otherwise refuse our own write lock.
  const std::string base_path = overlay->backing()->filename();
  ChainOptions bo;
  // The format as the header names it (empty: probed again, as before).
  bo.format = overlay->backing_format();
  if (bo.format.empty() && overlay == c.top.get()) bo.format = opts.backing_format;
  bo.open = opts.open;
  bo.open.writable = true;
  bo.open.force_share = false;
  bo.warn = opts.warn;
  overlay->set_backing(nullptr);
  auto base = open_chain(base_path, bo);
  if (!base) return make_error(reopen_error(base_path, base.error()));
  c.base = base->get();
  overlay->set_backing(std::move(*base));
  return c;
}

Result<void> commit_into_base(Layer& top, Layer& base, const std::function<void(double)>& progress) {
  const uint64_t size = top.size();
  DK_TRY(grow_base(base, size));
  std::vector<std::byte> buf;
  uint64_t off = 0;
  while (off < size) {
    uint64_t n = std::min(kStatusChunk, size - off);
    const int st = DK_TRY(status_above(top, base, off, &n));
    if (st == 1) DK_TRY(copy_data(top, base, off, n, buf));
    // Zero ranges stay zero ranges (QEMU's mirror zeroes/unmaps them too).
    if (st == 2) DK_TRY(base.write_zeroes(off, n, true));
    off += n;
    if (progress) progress(static_cast<double>(off) / static_cast<double>(size));
  }
  // The data must be stable in BASE before anything drops it from above.
  return base.flush();
}

Result<void> commit(CommitChain& chain, bool drop, const std::function<void(double)>& progress) {
  DK_TRY(commit_into_base(*chain.top, *chain.base, progress));
  if (!drop) {
    auto r = chain.top->make_empty();
    if (!r && r.error().code != ENOTSUP)
      return make_error(r.error().code, "Failed to empty '" + chain.top->filename() + "': " + r.error().message);
  }
  return chain.top->flush();
}

}  // namespace dk::fmt::maint
