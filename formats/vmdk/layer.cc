// Opening VMDK images (descriptor file or monolithic sparse file) and the
// multi-extent Layer that routes guest I/O to the extents.
#include <fcntl.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "formats/core/checked_math.h"
#include "formats/core/endian.h"
#include "formats/core/lock.h"
#include "formats/vmdk/vmdk.h"

namespace dk::fmt::vmdk {

std::string path_combine(const std::string& base, const std::string& name) {
  if (!name.empty() && name[0] == '/') return name;
  size_t slash = base.rfind('/');
  if (slash == std::string::npos) return name;
  return base.substr(0, slash + 1) + name;
}

VmdkLayer::VmdkLayer(std::string filename, bool writable, Descriptor desc, std::shared_ptr<File> desc_file,
                     std::vector<std::unique_ptr<VmdkExtent>> extents, bool embedded)
    : Layer(std::move(filename), writable),
      m_desc(std::move(desc)),
      m_desc_file(std::move(desc_file)),
      m_extents(std::move(extents)),
      m_embedded(embedded) {
  for (const auto& e : m_extents) {
    m_starts.push_back(m_size);
    m_size += e->length();
  }
}

// Streams write their directory and footer on flush; a writer that never
// flushed still leaves a readable file.
VmdkLayer::~VmdkLayer() {
  if (writable()) (void)do_flush();
}

std::optional<uint64_t> VmdkLayer::cluster_size() const {
  if (m_extents.empty()) return std::nullopt;
  return m_extents[0]->grain_bytes();
}

Result<uint64_t> VmdkLayer::actual_size() const {
  uint64_t sum = DK_TRY(m_desc_file->allocated_size());
  std::vector<const File*> seen{m_desc_file.get()};
  for (const auto& e : m_extents) {
    if (std::find(seen.begin(), seen.end(), &e->file()) != seen.end()) continue;
    seen.push_back(&e->file());
    sum += DK_TRY(e->file().allocated_size());
  }
  return sum;
}

std::pair<VmdkExtent*, uint64_t> VmdkLayer::find(uint64_t off) const {
  auto it = std::upper_bound(m_starts.begin(), m_starts.end(), off);
  size_t i = static_cast<size_t>(it - m_starts.begin()) - 1;
  return {m_extents[i].get(), m_starts[i]};
}

BelowFn VmdkLayer::below_for(uint64_t start) {
  return [this, start](uint64_t rel, std::span<std::byte> out) { return read_below(start + rel, out); };
}

Result<void> VmdkLayer::do_read(uint64_t off, std::span<std::byte> out) {
  while (!out.empty()) {
    auto [e, start] = find(off);
    size_t n = std::min<uint64_t>(out.size(), start + e->length() - off);
    DK_TRY(e->read(off - start, out.first(n), below_for(start)));
    off += n;
    out = out.subspan(n);
  }
  return {};
}

Result<void> VmdkLayer::do_write(uint64_t off, std::span<const std::byte> in) {
  while (!in.empty()) {
    auto [e, start] = find(off);
    if (!e->writable()) return make_error(EROFS, "'" + e->path() + "': extent is read-only");
    size_t n = std::min<uint64_t>(in.size(), start + e->length() - off);
    DK_TRY(e->write(off - start, in.first(n), below_for(start)));
    off += n;
    in = in.subspan(n);
  }
  return {};
}

Result<void> VmdkLayer::do_write_zeroes(uint64_t off, uint64_t len, bool) {
  std::vector<std::byte> zero;
  while (len) {
    auto [e, start] = find(off);
    if (!e->writable()) return make_error(EROFS, "'" + e->path() + "': extent is read-only");
    uint64_t n = std::min<uint64_t>(len, start + e->length() - off);
    auto r = e->write_zeroes(off - start, n, below_for(start));
    if (!r && r.error().code == ENOTSUP) {
      // Explicit zero data, in bounded pieces.
      zero.resize(std::min<uint64_t>(n, 1u << 20));
      for (uint64_t p = 0; p < n;) {
        uint64_t k = std::min<uint64_t>(zero.size(), n - p);
        DK_TRY(e->write(off - start + p, std::span(zero).first(k), below_for(start)));
        p += k;
      }
    } else if (!r) {
      return r;
    }
    off += n;
    len -= n;
  }
  return {};
}

Result<void> VmdkLayer::do_write_compressed(uint64_t off, std::span<const std::byte> in) {
  auto [e, start] = find(off);
  if (in.size() > start + e->length() - off) return make_error(EINVAL, "compressed write crosses an extent");
  return e->write_compressed(off - start, in, below_for(start));
}

Result<void> VmdkLayer::do_flush() {
  for (auto& e : m_extents) DK_TRY(e->flush());
  if (m_desc_file->writable()) DK_TRY(m_desc_file->flush());
  return {};
}

Result<Extent> VmdkLayer::do_block_status(uint64_t off, uint64_t len) {
  auto [e, start] = find(off);
  return e->block_status(off - start, std::min<uint64_t>(len, start + e->length() - off));
}

// Only monolithicSparse grows (within its grain directory); the embedded
// descriptor's extent line follows the new size.
Result<void> VmdkLayer::do_truncate(uint64_t new_size, bool) {
  if (new_size < m_size) return make_error(ENOTSUP, "'" + filename() + "': shrinking VMDK images is not supported");
  if (new_size == m_size) return {};
  if (!m_embedded || m_extents.size() != 1 || m_extents[0]->compressed() || new_size % kSector)
    return make_error(ENOTSUP, "'" + filename() + "': only monolithicSparse VMDK images can be resized");
  const uint64_t old_sectors = m_size / kSector;
  DK_TRY(m_extents[0]->grow(new_size));
  DK_TRY(update_embedded_descriptor(old_sectors, new_size / kSector));
  m_size = new_size;
  return {};
}

Result<void> VmdkLayer::update_embedded_descriptor(uint64_t old_sectors, uint64_t new_sectors) {
  auto* s = dynamic_cast<SparseExtent*>(m_extents[0].get());
  if (!s || s->header().descriptorOffset == 0) return {};
  const uint64_t off = s->header().descriptorOffset * kSector, len = s->header().descriptorSize * kSector;
  std::string text(len, '\0');
  DK_TRY(m_desc_file->pread_exact(off, std::as_writable_bytes(std::span(text))));
  const std::string from = " " + std::to_string(old_sectors) + " SPARSE ";
  size_t at = text.find(from);
  if (at == std::string::npos) return {};
  text.replace(at, from.size(), " " + std::to_string(new_sectors) + " SPARSE ");
  text.resize(len, '\0');
  if (text.find('\0') == std::string::npos && text.back() != '\0')
    return make_error(ENOSPC, "'" + filename() + "': the embedded descriptor has no room for the new size");
  return m_desc_file->pwrite_all(off, std::as_bytes(std::span(text)));
}

namespace {

// Extent names come from an untrusted file: no absolute paths and no ".."
// components unless the user opted in.
Result<void> check_extent_path(const std::string& desc, const std::string& name, bool allow_unsafe) {
  if (allow_unsafe) return {};
  if (name.empty()) return make_error(EINVAL, "'" + desc + "': empty extent file name");
  const std::string hint = "; pass --allow-unsafe-extent-paths to allow it";
  if (name[0] == '/')
    return make_error(EPERM, "'" + desc + "': extent file name '" + name + "' is an absolute path" + hint);
  size_t p = 0;
  while (p <= name.size()) {
    size_t q = name.find('/', p);
    if (q == std::string::npos) q = name.size();
    if (name.compare(p, q - p, "..") == 0 && q - p == 2)
      return make_error(EPERM, "'" + desc + "': extent file name '" + name +
                                   "' leaves the descriptor's directory" + hint);
    p = q + 1;
  }
  return {};
}

struct Opener {
  const OpenOptions& opts;
  std::map<std::string, std::shared_ptr<File>> files;

  Result<std::shared_ptr<File>> open(const std::string& path, bool rw) {
    auto it = files.find(path);
    if (it != files.end()) return it->second;
    int flags = rw ? O_RDWR : O_RDONLY;
    if (opts.sync_writes && rw) flags |= O_DSYNC;
    auto f = File::open(path, flags);
    if (!f) return make_error(f.error().code, "Could not open '" + path + "': " + std::strerror(f.error().code));
    f->set_flush_enabled(!opts.no_flush);
    auto sp = std::make_shared<File>(std::move(*f));
    DK_TRY(lock_image(*sp, rw ? LockMode::kWrite : LockMode::kRead, opts.force_share));
    files[path] = sp;
    return sp;
  }
};

bool supported_create_type(const std::string& t) {
  for (const char* s : {"monolithicFlat", "vmfs", "vmfsSparse", "seSparse", "twoGbMaxExtentSparse",
                        "twoGbMaxExtentFlat", "monolithicSparse", "streamOptimized", "vmfsRaw"})
    if (t == s) return true;
  return false;
}

Result<std::unique_ptr<VmdkExtent>> open_extent(Opener& op, const std::string& desc_path, const ExtentLine& x) {
  DK_TRY(check_extent_path(desc_path, x.filename, op.opts.extra.count("allow-unsafe-extent-paths") &&
                                                      op.opts.extra.at("allow-unsafe-extent-paths") == "on"));
  const std::string path = path_combine(desc_path, x.filename);
  const bool rw = op.opts.writable && x.access == "RW";
  auto bytes = checked_mul(x.sectors, kSector);
  if (!bytes || *bytes > (1ull << 62))
    return make_error(EINVAL, "'" + desc_path + "': extent '" + x.filename + "' is too large");
  std::unique_ptr<VmdkExtent> e;
  if (x.type == "FLAT" || x.type == "VMFS") {
    auto off = checked_mul(x.offset, kSector);
    if (!off) return make_error(EINVAL, "'" + desc_path + "': invalid offset of extent '" + x.filename + "'");
    e = std::make_unique<FlatExtent>(DK_TRY(op.open(path, rw)), *bytes, *off);
  } else if (x.type == "SPARSE" || x.type == "VMFSSPARSE") {
    e = DK_TRY_CTX(open_sparse_file(DK_TRY(op.open(path, rw)), *bytes), "extent '" + x.filename + "'");
  } else if (x.type == "SESPARSE") {
    // Read-only, like QEMU 7.2: the file is opened without write access.
    // QEMU sizes the extent by the header's capacity, not the descriptor.
    e = DK_TRY_CTX(SeSparseExtent::open(DK_TRY(op.open(path, false)), 0), "extent '" + x.filename + "'");
  } else {
    return make_error(ENOTSUP, "'" + desc_path + "': extent type '" + x.type + "' of '" + x.filename +
                                   "' is not supported");
  }
  e->type_name = x.type;
  return e;
}

}  // namespace

Result<std::unique_ptr<Layer>> open_vmdk(const std::string& path, const OpenOptions& opts) {
  if (opts.snapshot)
    return make_error(ENOTSUP, "'" + path + "': format 'vmdk' does not support internal snapshots");
  if (opts.direct) return make_error(ENOTSUP, "'" + path + "': the vmdk driver does not support O_DIRECT (cache=none)");
  if (opts.force_share && opts.writable)
    return make_error(EINVAL, "'" + path + "': force-share (-U) can only be used with read-only images");
  Opener op{opts, {}};
  std::shared_ptr<File> f = DK_TRY(op.open(path, opts.writable));
  const uint64_t fsize = DK_TRY(f->size());
  std::array<std::byte, kHeaderSize> head{};
  DK_TRY(f->pread_fill(0, head));
  std::vector<std::unique_ptr<VmdkExtent>> extents;
  Descriptor desc;
  const uint32_t magic = load_le32(head.data());
  if (magic == kSparseMagic) {
    // monolithicSparse / streamOptimized: the file is the only extent and
    // may embed a descriptor.
    SparseExtentHeader h = DK_TRY(decode_header(head, path));
    if (h.descriptorOffset && h.descriptorSize) {
      auto off = checked_mul(h.descriptorOffset, kSector);
      if (h.descriptorSize > kMaxDescriptorBytes / kSector || !off ||
          !range_within(*off, h.descriptorSize * kSector, fsize))
        return make_error(EINVAL, "'" + path + "': embedded descriptor is beyond the end of the file");
      std::string text(h.descriptorSize * kSector, '\0');
      DK_TRY(f->pread_exact(*off, std::as_writable_bytes(std::span(text))));
      desc = DK_TRY(parse_descriptor(text, path));
    }
    extents.push_back(DK_TRY(open_sparse_file(f, 0)));
    return std::unique_ptr<Layer>(new VmdkLayer(path, opts.writable, std::move(desc), f, std::move(extents), true));
  }
  if (magic == kCowdMagic) {
    // A VMFSSPARSE extent opened directly: read-only, no descriptor.
    extents.push_back(DK_TRY(open_sparse_file(f, 0)));
    return std::unique_ptr<Layer>(new VmdkLayer(path, opts.writable, std::move(desc), f, std::move(extents), true));
  }
  if (fsize > kMaxDescriptorBytes) return make_error(EINVAL, "'" + path + "': invalid VMDK image descriptor (too large)");
  std::string text(fsize, '\0');
  DK_TRY(f->pread_exact(0, std::as_writable_bytes(std::span(text))));
  if (text.find("# Disk DescriptorFile") == std::string::npos && text.find("createType") == std::string::npos)
    return make_error(EINVAL, "'" + path + "': invalid VMDK image descriptor");
  desc = DK_TRY(parse_descriptor(text, path));
  if (desc.create_type.empty()) return make_error(EINVAL, "'" + path + "': invalid VMDK image descriptor (no createType)");
  if (!supported_create_type(desc.create_type))
    return make_error(ENOTSUP, "'" + path + "': unsupported image type '" + desc.create_type + "'");
  uint64_t total = 0;
  for (const ExtentLine& x : desc.extents) {
    if (x.sectors == 0)
      return make_error(EINVAL, "'" + path + "': invalid extent line: extent '" + x.filename + "' has no sectors");
    extents.push_back(DK_TRY(open_extent(op, path, x)));
    auto t = checked_add(total, extents.back()->length());
    if (!t || *t > (static_cast<uint64_t>(INT64_MAX) & ~(kSector - 1)))
      return make_error(EFBIG, "'" + path + "': the extents add up to more than 8 EiB");
    total = *t;
  }
  return std::unique_ptr<Layer>(new VmdkLayer(path, opts.writable, std::move(desc), f, std::move(extents), false));
}

}  // namespace dk::fmt::vmdk
