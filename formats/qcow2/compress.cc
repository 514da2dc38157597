// Compressed clusters: zlib raw deflate (windowBits -12) or a zstd frame,
// both stored without any header, as QEMU writes them.
#if DK_HAVE_LIBDEFLATE
#include <libdeflate.h>
#endif
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "formats/qcow2/qcow2.h"

namespace dk::fmt::qcow2 {

namespace {

#if DK_HAVE_LIBDEFLATE
struct CompressorDeleter {
  void operator()(libdeflate_compressor* c) const { libdeflate_free_compressor(c); }
};
#endif

Result<std::vector<std::byte>> deflate_raw(std::span<const std::byte> in) {
  // Output larger than the input is useless: the caller then stores it uncompressed.
#if DK_HAVE_LIBDEFLATE
  // One compressor per thread (compression workers call this concurrently).
  // Level 6 matches zlib's default level in size at about 1.5x the speed.
  // Its matches may reach back further than QEMU's 4 KiB window; readers
  // inflate a whole cluster in one call (QEMU, and inflate_raw below), and
  // zlib then takes distances into the output buffer whatever the window.
  thread_local std::unique_ptr<libdeflate_compressor, CompressorDeleter> c(libdeflate_alloc_compressor(6));
  if (!c) return make_error(ENOMEM, "libdeflate: cannot allocate a compressor");
  thread_local std::vector<std::byte> scratch;
  scratch.resize(std::max(scratch.size(), in.size() - 1));
  size_t n = libdeflate_deflate_compress(c.get(), in.data(), in.size(), scratch.data(), in.size() - 1);
  // 0: did not fit, incompressible
  return std::vector<std::byte>(scratch.begin(), scratch.begin() + static_cast<ptrdiff_t>(n));
#else
  std::vector<std::byte> out(in.size() - 1);
  z_stream s{};
  if (deflateInit2(&s, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9, Z_DEFAULT_STRATEGY) != Z_OK)
    return make_error(ENOMEM, "zlib: deflateInit2 failed");
  s.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
  s.avail_in = static_cast<uInt>(in.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  int r = deflate(&s, Z_FINISH);
  size_t n = out.size() - s.avail_out;
  deflateEnd(&s);
  if (r != Z_STREAM_END) return std::vector<std::byte>{};  // did not fit: incompressible
  out.resize(n);
  return out;
#endif
}

Result<void> inflate_raw(std::span<const std::byte> in, std::span<std::byte> out) {
  z_stream s{};
  if (inflateInit2(&s, -12) != Z_OK) return make_error(ENOMEM, "zlib: inflateInit2 failed");
  s.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
  s.avail_in = static_cast<uInt>(in.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  int r = inflate(&s, Z_FINISH);
  bool full = s.avail_out == 0;
  inflateEnd(&s);
  // QEMU accepts a stream that filled the cluster even without its end marker
  // (the input is rounded up to sectors and may be cut short).
  if ((r == Z_STREAM_END || r == Z_BUF_ERROR || r == Z_OK) && full) return {};
  return make_error(EIO, "zlib: corrupt compressed cluster");
}

struct CctxDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DctxDeleter {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

Result<std::vector<std::byte>> zstd_compress(std::span<const std::byte> in) {
  // A context per thread: creating one per cluster costs more than
  // compressing a text cluster.
  thread_local std::unique_ptr<ZSTD_CCtx, CctxDeleter> cctx(ZSTD_createCCtx());
  if (!cctx) return make_error(ENOMEM, "zstd: out of memory");
  // A reused scratch buffer: a zero-filled vector per cluster costs a memset.
  thread_local std::vector<std::byte> scratch;
  scratch.resize(std::max(scratch.size(), in.size() - 1));
  size_t n = ZSTD_compressCCtx(cctx.get(), scratch.data(), in.size() - 1, in.data(), in.size(), ZSTD_CLEVEL_DEFAULT);
  if (ZSTD_isError(n)) return std::vector<std::byte>{};  // too big or failed: store uncompressed
  return std::vector<std::byte>(scratch.begin(), scratch.begin() + static_cast<ptrdiff_t>(n));
}

Result<void> zstd_decompress(std::span<const std::byte> in, std::span<std::byte> out) {
  thread_local std::unique_ptr<ZSTD_DCtx, DctxDeleter> dctx(ZSTD_createDCtx());
  ZSTD_DCtx* d = dctx.get();
  if (!d) return make_error(ENOMEM, "zstd: out of memory");
  ZSTD_DCtx_reset(d, ZSTD_reset_session_only);
  ZSTD_inBuffer ib{in.data(), in.size(), 0};
  ZSTD_outBuffer ob{out.data(), out.size(), 0};
  // Stream until the cluster is full: the input carries sector padding after the frame.
  Result<void> res = {};
  while (ob.pos < ob.size) {
    size_t r = ZSTD_decompressStream(d, &ob, &ib);
    if (ZSTD_isError(r)) {
      res = make_error(EIO, std::string("zstd: corrupt compressed cluster: ") + ZSTD_getErrorName(r));
      break;
    }
    if (r == 0 && ob.pos < ob.size) {
      res = make_error(EIO, "zstd: compressed cluster is too short");
      break;
    }
    if (ib.pos == ib.size && ob.pos < ob.size) {
      res = make_error(EIO, "zstd: compressed cluster is truncated");
      break;
    }
  }
  return res;
}

}  // namespace

Result<std::vector<std::byte>> compress_cluster(uint8_t type, std::span<const std::byte> in) {
  if (type == kCompressionZstd) return zstd_compress(in);
  return deflate_raw(in);
}

Result<void> decompress_cluster(uint8_t type, std::span<const std::byte> in, std::span<std::byte> out) {
  if (type == kCompressionZstd) return zstd_decompress(in, out);
  return inflate_raw(in, out);
}

}  // namespace dk::fmt::qcow2
