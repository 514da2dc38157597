// Planning (block status -> pieces) and the per-chunk decision of what to
// write (zero detection, comparison with a base, compression).
#include "formats/convert/plan.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>

#include "formats/chain.h"
#include "formats/core/checked_math.h"
#include "formats/core/zero_detect.h"

#include <zstd.h>

namespace dk::fmt::convert_detail {

namespace {

// Appends a piece, merging it into the previous one when it continues it.
void append_piece(std::vector<Piece>& out, const Piece& p) {
  if (p.len == 0) return;
  if (!out.empty()) {
    Piece& b = out.back();
    if (b.data == p.data && b.input == p.input && b.out_off + b.len == p.out_off && b.in_off + b.len == p.in_off) {
      b.len += p.len;
      return;
    }
  }
  out.push_back(p);
}

void emit(std::vector<Op>& ops, OpKind kind, uint64_t off, uint64_t len) {
  if (len == 0) return;
  bool mergeable = kind == OpKind::kWrite || kind == OpKind::kZeroUnmap || kind == OpKind::kZeroKeep;
  if (mergeable && !ops.empty() && ops.back().kind == kind && ops.back().off + ops.back().len == off) {
    ops.back().len += len;
    return;
  }
  ops.push_back(Op{kind, off, len, {}});
}

// True when any data piece intersects [a, b).
bool has_data(std::span<const Piece> pieces, uint64_t a, uint64_t b) {
  for (const Piece& p : pieces)
    if (p.data && p.out_off < b && a < p.out_off + p.len) return true;
  return false;
}

// Zeroes the bytes of buf in [a, b) that belong to zero pieces.
void fill_holes(std::span<const Piece> pieces, uint64_t chunk_off, std::span<std::byte> buf, uint64_t a,
                uint64_t b) {
  for (const Piece& p : pieces) {
    if (p.data) continue;
    uint64_t s = std::max(a, p.out_off), e = std::min(b, p.out_off + p.len);
    if (s < e) std::memset(buf.data() + (s - chunk_off), 0, e - s);
  }
}

}  // namespace

Planner::Planner(std::vector<Layer*> inputs) {
  for (Layer* l : inputs) {
    m_inputs.push_back(Input{l, m_total, l->size()});
    m_total += l->size();
  }
}

Result<std::vector<Piece>> Planner::plan_raw(uint64_t off, uint64_t len) {
  std::vector<Piece> out;
  const uint64_t end = off + len;
  size_t i = 0;
  while (off < end) {
    while (i < m_inputs.size() && m_inputs[i].start + m_inputs[i].size <= off) ++i;
    if (i == m_inputs.size()) return make_error(EINVAL, "request beyond the end of the sources");
    Input& in = m_inputs[i];
    const uint64_t in_off = off - in.start;
    if (!(in.cached_start <= in_off && in_off < in.cached_end)) {
      uint64_t want = in.size - in_off;
      auto st = chain_block_status(*in.layer, in_off, want);
      if (!st)
        return make_error(st.error().with_context("error while reading block status of sector " +
                                                  std::to_string(off / 512)));
      if (st->length == 0 || st->length > want)
        return make_error(EIO, "'" + in.layer->filename() + "': bad block status length at offset " +
                                   std::to_string(in_off));
      in.cached_start = in_off;
      in.cached_end = in_off + st->length;
      // Ranges that read as zero (zero flag, or unallocated down the whole
      // chain) are never read.
      in.cached_data = st->data && !st->zero;
    }
    uint64_t n = std::min({end - off, in.size - in_off, in.cached_end - in_off});
    append_piece(out, Piece{in.cached_data, off, n, i, in_off});
    off += n;
  }
  return out;
}

Result<std::vector<Piece>> Planner::plan(uint64_t off, uint64_t len, uint64_t promote) {
  std::vector<Piece> raw = DK_TRY(plan_raw(off, len));
  if (promote == 0) return raw;
  // Mark every promote-sized block touched by data, then re-emit the pieces
  // cut at block boundaries with the block's kind.
  std::vector<char> mark(div_round_up(len, promote), 0);
  for (const Piece& p : raw) {
    if (!p.data) continue;
    for (uint64_t c = (p.out_off - off) / promote; c <= (p.out_off + p.len - 1 - off) / promote; ++c) mark[c] = 1;
  }
  std::vector<Piece> out;
  for (const Piece& p : raw) {
    uint64_t pos = p.out_off, pend = p.out_off + p.len;
    while (pos < pend) {
      uint64_t c = (pos - off) / promote;
      uint64_t cend = std::min(pend, off + (c + 1) * promote);
      append_piece(out, Piece{mark[c] != 0, pos, cend - pos, p.input, p.in_off + (pos - p.out_off)});
      pos = cend;
    }
  }
  return out;
}

Result<void> read_pieces(std::span<Layer* const> inputs, std::span<const Piece> pieces, uint64_t chunk_off,
                         std::span<std::byte> buf) {
  for (const Piece& p : pieces) {
    if (!p.data) continue;
    auto r = inputs[p.input]->read(p.in_off, buf.subspan(p.out_off - chunk_off, p.len));
    if (!r) return make_error(r.error().with_context("error while reading at byte " + std::to_string(p.out_off)));
  }
  return {};
}

namespace {

// One sub-range [a, b) where both the source and the base have one status.
void process_range(const ChunkSettings& s, uint64_t chunk_off, std::span<std::byte> buf,
                   std::span<std::byte> base_buf, uint64_t a, uint64_t b, bool src_data, bool base_data,
                   std::vector<Op>& ops) {
  auto src = [&](uint64_t off, uint64_t n) { return std::span<const std::byte>(buf.data() + (off - chunk_off), n); };
  auto base = [&](uint64_t off, uint64_t n) {
    return std::span<const std::byte>(base_buf.data() + (off - chunk_off), n);
  };
  if (!s.compare) {
    if (!src_data) {
      if (s.sparse_size == 0) {
        // -S 0: fully allocated output, zeroes are written as data.
        std::memset(buf.data() + (a - chunk_off), 0, b - a);
        emit(ops, OpKind::kWrite, a, b - a);
      } else if (!s.target_is_zero) {
        emit(ops, OpKind::kZeroUnmap, a, b - a);
      }
      return;
    }
    if (s.sparse_size == 0) {
      emit(ops, OpKind::kWrite, a, b - a);
      return;
    }
    const uint64_t g = s.sparse_size;
    for (uint64_t pos = a; pos < b;) {
      uint64_t n = std::min(b, align_down(pos, g) + g) - pos;
      if (!buffer_is_zero(src(pos, n)))
        emit(ops, OpKind::kWrite, pos, n);
      else if (!s.target_is_zero)
        emit(ops, OpKind::kZeroUnmap, pos, n);
      pos += n;
    }
    return;
  }
  // Compare mode: only what differs from the base is written.
  if (!src_data && !base_data) return;
  const uint64_t g = s.sparse_size ? s.sparse_size : 4096;
  for (uint64_t pos = a; pos < b;) {
    uint64_t n = std::min(b, align_down(pos, g) + g) - pos;
    bool src_zero = !src_data || buffer_is_zero(src(pos, n));
    bool base_zero = !base_data || buffer_is_zero(base(pos, n));
    if (src_zero && base_zero) {
      // equal (both zero): leave to the backing file
    } else if (src_zero) {
      emit(ops, OpKind::kZeroKeep, pos, n);
    } else if (base_zero || std::memcmp(src(pos, n).data(), base(pos, n).data(), n) != 0) {
      emit(ops, OpKind::kWrite, pos, n);
    }
    pos += n;
  }
}

struct CctxDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};

// Shannon entropy of the bytes in bits per byte (8: uniformly random).
double byte_entropy(std::span<const std::byte> in) {
  // Four tables so consecutive equal bytes do not serialise on one counter.
  uint32_t h[4][256] = {};
  size_t i = 0;
  const auto* p = reinterpret_cast<const uint8_t*>(in.data());
  for (; i + 4 <= in.size(); i += 4) {
    ++h[0][p[i]];
    ++h[1][p[i + 1]];
    ++h[2][p[i + 2]];
    ++h[3][p[i + 3]];
  }
  for (; i < in.size(); ++i) ++h[0][p[i]];
  double e = 0, n = static_cast<double>(in.size());
  for (int b = 0; b < 256; ++b) {
    uint32_t c = h[0][b] + h[1][b] + h[2][b] + h[3][b];
    if (c) e -= c / n * std::log2(c / n);
  }
  return e;
}

// True when the cluster does not compress at all (random or already
// compressed data). Formats store such clusters uncompressed anyway (qcow2
// does when the compressed form does not fit in cluster_size - 1 bytes), and
// deflate crawls through random data at a few tens of MB/s. Only clusters
// whose bytes look uniformly random get the (fast) zstd confirmation, so
// compressible data pays just the histogram.
bool incompressible(std::span<const std::byte> in) {
  thread_local std::unique_ptr<ZSTD_CCtx, CctxDeleter> cctx(ZSTD_createCCtx());
  thread_local std::vector<std::byte> out;
  if (!cctx || in.size() < 4096) return false;
  // The histogram of a sample (eight spread 1 KiB blocks) tells random from
  // compressible data as well as the whole cluster does (the estimate of
  // uniform bytes stays near 7.98 bits) at an eighth of the cost. A wrong
  // guess only costs time: zstd confirms below, or the cluster is compressed.
  if (in.size() >= 16384) {
    std::byte sample[8 * 1024];
    const size_t stride = in.size() / 8;
    for (size_t i = 0; i < 8; ++i) std::memcpy(sample + i * 1024, in.data() + i * stride, 1024);
    if (byte_entropy(std::span<const std::byte>(sample, sizeof sample)) < 7.9) return false;
  } else if (byte_entropy(in) < 7.9) {
    return false;
  }
  out.resize(ZSTD_compressBound(in.size()));
  size_t r = ZSTD_compressCCtx(cctx.get(), out.data(), out.size(), in.data(), in.size(), 1);
  return !ZSTD_isError(r) && r >= in.size();
}

Result<void> process_cluster(const ChunkSettings& s, uint64_t chunk_off, std::span<std::byte> buf,
                             std::span<const Piece> pieces, std::span<std::byte> base_buf,
                             std::span<const Piece> base_pieces, uint64_t c0, uint64_t c1, std::vector<Op>& ops) {
  const uint64_t n = c1 - c0;
  std::span<std::byte> cl = buf.subspan(c0 - chunk_off, n);
  bool sd = has_data(pieces, c0, c1);
  if (sd) fill_holes(pieces, chunk_off, buf, c0, c1);
  bool src_zero = !sd || buffer_is_zero(cl);
  if (s.compare) {
    bool bd = has_data(base_pieces, c0, c1);
    if (bd) fill_holes(base_pieces, chunk_off, base_buf, c0, c1);
    std::span<std::byte> bcl = base_buf.subspan(c0 - chunk_off, n);
    bool base_zero = !bd || buffer_is_zero(bcl);
    if (src_zero && base_zero) return {};
    if (src_zero) {
      emit(ops, OpKind::kZeroKeep, c0, n);
      return {};
    }
    if (!base_zero && std::memcmp(cl.data(), bcl.data(), n) == 0) return {};
  } else if (src_zero && s.sparse_size != 0) {
    if (!s.target_is_zero) emit(ops, OpKind::kZeroUnmap, c0, n);
    return {};
  }
  if (!sd) std::memset(cl.data(), 0, n);
  if (sd && incompressible(cl)) {
    emit(ops, OpKind::kWrite, c0, n);
    return {};
  }
  if (!s.splitter) {
    emit(ops, OpKind::kCompressed, c0, n);
    return {};
  }
  auto payload = s.splitter->compress_cluster(cl);
  if (!payload)
    return make_error(payload.error().with_context("error while compressing at byte " + std::to_string(c0)));
  if (!*payload) {
    emit(ops, OpKind::kWrite, c0, n);
    return {};
  }
  ops.push_back(Op{OpKind::kPayload, c0, n, std::move(**payload)});
  return {};
}

}  // namespace

Result<std::vector<Op>> process_chunk(const ChunkSettings& s, uint64_t chunk_off, std::span<std::byte> buf,
                                      std::span<const Piece> pieces, std::span<std::byte> base_buf,
                                      std::span<const Piece> base_pieces) {
  std::vector<Op> ops;
  if (pieces.empty()) return ops;
  const uint64_t chunk_end = pieces.back().out_off + pieces.back().len;
  if (s.compress) {
    const uint64_t c = s.cluster_size;
    for (uint64_t c0 = chunk_off; c0 < chunk_end; c0 = std::min(chunk_end, align_down(c0, c) + c))
      DK_TRY(process_cluster(s, chunk_off, buf, pieces, base_buf, base_pieces, c0,
                             std::min(chunk_end, align_down(c0, c) + c), ops));
    return ops;
  }
  // Walk the boundaries of both piece lists together.
  size_t i = 0, j = 0;
  for (uint64_t pos = chunk_off; pos < chunk_end;) {
    while (pieces[i].out_off + pieces[i].len <= pos) ++i;
    uint64_t end = pieces[i].out_off + pieces[i].len;
    bool base_data = false;
    if (s.compare) {
      while (base_pieces[j].out_off + base_pieces[j].len <= pos) ++j;
      end = std::min(end, base_pieces[j].out_off + base_pieces[j].len);
      base_data = base_pieces[j].data;
    }
    process_range(s, chunk_off, buf, base_buf, pos, end, pieces[i].data, base_data, ops);
    pos = end;
  }
  return ops;
}

}  // namespace dk::fmt::convert_detail
