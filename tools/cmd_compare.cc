// diskit compare: qemu-img 7.2's `compare` (exit 0 identical, 1 different,
// 2 on error). Ranges both chains report as zero are skipped without reading.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "formats/chain.h"
#include "tools/command.h"
#include "tools/image_args.h"

namespace dk::tools {
namespace {

// qemu-img compares in chunks of at most 2 MiB and reports mismatches at
// 512-byte sector granularity.
constexpr uint64_t kChunk = 2u << 20;
constexpr uint64_t kSector = 512;

struct CompareOptions {
  std::string fmt1, fmt2;
  std::string cache = "writeback";
  bool progress = false;
  bool quiet = false;
  bool strict = false;
  bool force_share = false;
  std::string file1, file2;
};

// qemu-img's progress line: "    (xx.xx/100%)\r", redrawn every 2%.
class Progress {
 public:
  explicit Progress(bool on) : m_on(on) { print(0); }
  void update(double pct) {
    if (!m_on) return;
    if (pct >= 100.0 || pct - m_last > 2.0) print(std::min(pct, 100.0));
  }
  void end() {
    if (m_on) std::printf("\n");
  }

 private:
  void print(double pct) {
    if (!m_on) return;
    m_last = pct;
    std::printf("    (%3.2f/100%%)\r", pct);
    std::fflush(stdout);
  }
  bool m_on;
  double m_last = 0;
};

struct Side {
  std::string name;
  std::unique_ptr<fmt::Layer> top;
};

// Offset of the first 512-byte sector at or after `base` where a and b
// differ (sectors counted from `base`), or nullopt when they are equal.
std::optional<uint64_t> first_mismatch(const std::byte* a, const std::byte* b, uint64_t len,
                                       uint64_t base) {
  if (std::memcmp(a, b, len) == 0) return std::nullopt;
  uint64_t i = 0;
  while (i < len) {
    uint64_t n = std::min(kSector, len - i);
    if (std::memcmp(a + i, b + i, n) != 0) break;
    i += n;
  }
  return base + i;
}

// Checks that [off, off+len) of `s` reads as zero; prints the mismatch.
Result<bool> check_zero(Side& s, uint64_t off, uint64_t len, std::vector<std::byte>& buf,
                        bool quiet) {
  std::span<std::byte> span(buf.data(), len);
  DK_TRY_CTX(s.top->read(off, span),
             "Error while reading offset " + std::to_string(off) + " of " + s.name);
  for (uint64_t i = 0; i < len; i += kSector) {
    uint64_t n = std::min(kSector, len - i);
    bool zero = std::all_of(span.begin() + i, span.begin() + i + n,
                            [](std::byte x) { return x == std::byte{0}; });
    if (!zero) {
      if (!quiet) std::printf("Content mismatch at offset %llu!\n",
                              static_cast<unsigned long long>(off + i));
      return false;
    }
  }
  return true;
}

// Block status of one image from `off` to its end, reusing the previous
// answer while it still covers `off` (the other image often has the
// shorter extents, so this halves the queries).
class StatusCursor {
 public:
  explicit StatusCursor(Side& side) : m_side(side) {}
  Result<fmt::MapEntry> at(uint64_t off) {
    uint64_t size = m_side.top->size();
    if (!(m_valid && off >= m_entry.start && off < m_entry.start + m_entry.length)) {
      m_entry = DK_TRY_CTX(fmt::chain_block_status(*m_side.top, off, size - off),
                           "Sector allocation test failed for " + m_side.name);
      if (m_entry.length == 0) return make_error(EIO, "'" + m_side.name + "': block status returned an empty extent");
      m_valid = true;
    }
    fmt::MapEntry e = m_entry;
    uint64_t skip = off - e.start;
    e.start = off;
    e.length -= skip;
    if (e.offset) *e.offset += skip;
    return e;
  }
  // QEMU's BDRV_BLOCK_EOF: the extent reaches the end of the image.
  bool eof(const fmt::MapEntry& e) const { return e.start + e.length == m_side.top->size(); }

 private:
  Side& m_side;
  fmt::MapEntry m_entry;
  bool m_valid = false;
};

// qemu-img -s compares the whole status word, including whether the extent
// runs to the end of its image.
bool status_equal(const fmt::MapEntry& a, bool a_eof, const fmt::MapEntry& b, bool b_eof) {
  return a.present == b.present && a.zero == b.zero && a.data == b.data &&
         a.offset.has_value() == b.offset.has_value() && a_eof == b_eof;
}

Result<int> compare_images(Side& s1, Side& s2, const CompareOptions& o, Progress& progress) {
  uint64_t size1 = s1.top->size(), size2 = s2.top->size();
  uint64_t common = std::min(size1, size2), total = std::max(size1, size2);
  auto say = [&](const char* msg) {
    if (!o.quiet) std::printf("%s", msg);
  };
  if (o.strict && size1 != size2) {
    say("Strict mode: Image size mismatch!\n");
    return 1;
  }
  std::vector<std::byte> buf1(kChunk), buf2(kChunk);
  auto pct = [&](uint64_t off) { return total ? 100.0 * static_cast<double>(off) / total : 100.0; };
  StatusCursor c1(s1), c2(s2);
  for (uint64_t off = 0; off < common;) {
    fmt::MapEntry e1 = DK_TRY(c1.at(off));
    fmt::MapEntry e2 = DK_TRY(c2.at(off));
    uint64_t chunk = std::min({e1.length, e2.length, common - off});
    if (o.strict && !status_equal(e1, c1.eof(e1), e2, c2.eof(e2))) {
      if (!o.quiet)
        std::printf("Strict mode: Offset %llu block status mismatch!\n",
                    static_cast<unsigned long long>(off));
      return 1;
    }
    if (e1.zero && e2.zero) {
      // Both read as zero: nothing to compare.
    } else if (e1.present == e2.present) {
      chunk = std::min(chunk, kChunk);
      if (e1.present) {
        DK_TRY_CTX(s1.top->read(off, std::span(buf1.data(), chunk)),
                   "Error while reading offset " + std::to_string(off) + " of " + s1.name);
        DK_TRY_CTX(s2.top->read(off, std::span(buf2.data(), chunk)),
                   "Error while reading offset " + std::to_string(off) + " of " + s2.name);
        if (auto at = first_mismatch(buf1.data(), buf2.data(), chunk, off)) {
          if (!o.quiet)
            std::printf("Content mismatch at offset %llu!\n", static_cast<unsigned long long>(*at));
          return 1;
        }
      }
    } else {
      // Allocated on one side only: the other reads as zero there.
      chunk = std::min(chunk, kChunk);
      Side& s = e1.present ? s1 : s2;
      if (!DK_TRY(check_zero(s, off, chunk, buf1, o.quiet))) return 1;
    }
    off += chunk;
    progress.update(pct(off));
  }
  if (size1 != size2) {
    say("Warning: Image size mismatch!\n");
    Side& over = size1 > size2 ? s1 : s2;
    StatusCursor cur(over);
    for (uint64_t off = common; off < total;) {
      fmt::MapEntry e = DK_TRY(cur.at(off));
      uint64_t chunk = e.length;
      if (e.present && !e.zero) {
        chunk = std::min(chunk, kChunk);
        if (!DK_TRY(check_zero(over, off, chunk, buf1, o.quiet))) return 1;
      }
      off += chunk;
      progress.update(pct(off));
    }
  }
  say("Images are identical.\n");
  return 0;
}

Result<int> run_compare(const CompareOptions& o) {
  fmt::ChainOptions c1, c2;
  DK_TRY(apply_cache_mode(o.cache, "source cache option", c1.open));
  c1.open.force_share = o.force_share;
  c2.open = c1.open;
  c1.format = o.fmt1;
  c2.format = o.fmt2;
  Side s1{o.file1, nullptr}, s2{o.file2, nullptr};
  auto t1 = fmt::open_chain(o.file1, c1);
  if (!t1) return make_error(open_error(o.file1, t1.error()));
  s1.top = std::move(*t1);
  auto t2 = fmt::open_chain(o.file2, c2);
  if (!t2) return make_error(open_error(o.file2, t2.error()));
  s2.top = std::move(*t2);
  Progress progress(o.progress && !o.quiet);
  auto r = compare_images(s1, s2, o, progress);
  std::fflush(stdout);
  progress.end();
  return r;
}

}  // namespace

Command add_compare(CLI::App& parent) {
  auto o = std::make_shared<CompareOptions>();
  Command c;
  c.app = parent.add_subcommand("compare", "Check whether two images have the same content");
  c.app->add_option("-f", o->fmt1, "Format of the first image (probed when omitted)");
  c.app->add_option("-F", o->fmt2, "Format of the second image (probed when omitted)");
  c.app->add_option("-T", o->cache, "Cache mode for reading both images");
  c.app->add_flag("-p", o->progress, "Show progress");
  c.app->add_flag("-q", o->quiet, "Quiet: print nothing, report through the exit status");
  c.app->add_flag("-s", o->strict, "Strict: sizes and allocation must match too");
  c.app->add_flag("-U,--force-share", o->force_share, "Open the images even if another process holds them");
  c.app->add_option("filename1", o->file1, "First image")->required();
  c.app->add_option("filename2", o->file2, "Second image")->required();
  c.run = [o]() -> Result<int> { return run_compare(*o); };
  c.error_exit = 2;
  return c;
}

}  // namespace dk::tools
