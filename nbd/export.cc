// Export: a shared, locked image behind one export name (see export.h).
#include "nbd/export.h"

#include "formats/chain.h"

namespace dk::nbd {
namespace {

Error closed_error() { return Error{ESHUTDOWN, "the server is shutting down"}; }

}  // namespace

Export::Export(ExportSpec spec, std::unique_ptr<fmt::Layer> layer)
    : m_spec(std::move(spec)), m_layer(std::move(layer)), m_size(m_layer ? m_layer->size() : 0) {}

Result<std::unique_ptr<Export>> Export::open(const ExportSpec& spec) {
  fmt::ChainOptions opts;
  opts.format = spec.format;
  opts.open.writable = !spec.read_only;
  if (spec.force_share && !spec.read_only)
    return make_error(EINVAL, "force-share (-U) needs a read-only export (--ro)");
  opts.open.force_share = spec.force_share;
  auto layer = fmt::open_chain(spec.image, opts);
  if (!layer)
    return make_error(layer.error().code,
                      "Could not open '" + spec.image + "': " + layer.error().message);
  return std::make_unique<Export>(spec, std::move(*layer));
}

bool Export::try_acquire() {
  unsigned n = m_clients.load();
  const unsigned max = m_spec.max_clients == 0 ? 1 : m_spec.max_clients;
  while (n < max)
    if (m_clients.compare_exchange_weak(n, n + 1)) return true;
  return false;
}

void Export::release() { m_clients.fetch_sub(1); }

Result<void> Export::read(uint64_t off, std::span<std::byte> out) {
  std::lock_guard lock(m_mu);
  if (!m_layer) return make_error(closed_error());
  return m_layer->read(off, out);
}

Result<void> Export::write(uint64_t off, std::span<const std::byte> in) {
  std::lock_guard lock(m_mu);
  if (!m_layer) return make_error(closed_error());
  return m_layer->write(off, in);
}

Result<void> Export::write_zeroes(uint64_t off, uint64_t len, bool may_unmap) {
  std::lock_guard lock(m_mu);
  if (!m_layer) return make_error(closed_error());
  return m_layer->write_zeroes(off, len, may_unmap);
}

Result<void> Export::discard(uint64_t off, uint64_t len) {
  std::lock_guard lock(m_mu);
  if (!m_layer) return make_error(closed_error());
  return m_layer->discard(off, len);
}

Result<void> Export::flush() {
  std::lock_guard lock(m_mu);
  if (!m_layer) return make_error(closed_error());
  if (!m_layer->writable()) return {};
  return m_layer->flush();
}

Result<std::vector<Piece>> Export::map(uint64_t off, uint64_t len, size_t max_pieces) {
  std::vector<Piece> out;
  std::lock_guard lock(m_mu);
  if (!m_layer) return make_error(closed_error());
  while (len > 0 && out.size() < max_pieces) {
    fmt::MapEntry e = DK_TRY(fmt::chain_block_status(*m_layer, off, len));
    // A driver answering 0 bytes would loop forever; treat it as data.
    uint64_t n = e.length == 0 || e.length > len ? len : e.length;
    Piece p{n, e.zero, e.data};
    if (!out.empty() && out.back().zero == p.zero && out.back().data == p.data)
      out.back().length += n;
    else
      out.push_back(p);
    off += n;
    len -= n;
  }
  return out;
}

Result<void> Export::close() {
  std::lock_guard lock(m_mu);
  if (!m_layer) return {};
  Result<void> r;
  if (m_layer->writable()) r = m_layer->flush();
  m_layer.reset();
  return r;
}

}  // namespace dk::nbd
