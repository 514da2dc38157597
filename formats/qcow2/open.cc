// Opening a qcow2 image: header checks, table loading, feature handling,
// repair of a dirty image, and the driver table.
#include <fcntl.h>

#include <algorithm>
#include <cstring>

#include "formats/core/checked_math.h"
#include "formats/core/endian.h"
#include "formats/core/lock.h"
#include "formats/qcow2/header.h"
#include "formats/qcow2/qcow2.h"

namespace dk::fmt::qcow2 {

namespace {

std::string unsupported_features(const HeaderInfo& info) {
  uint64_t unknown = info.h.incompatible_features & ~kIncompatKnown;
  std::string msg;
  for (uint8_t bit = 0; bit < 64; ++bit) {
    if (!(unknown >> bit & 1)) continue;
    std::string name;
    for (const FeatureName& f : info.features)
      if (f.type == 0 && f.bit == bit) name = f.name;
    if (name.empty()) name = "Unknown incompatible feature: " + std::to_string(1ull << bit);
    msg += (msg.empty() ? "" : ", ") + name;
  }
  return msg;
}

}  // namespace

Qcow2Layer::~Qcow2Layer() {
  if (writable()) (void)close_clean();
}

Result<void> Qcow2Layer::close_clean() {
  DK_TRY(sync_all());
  if (m_marked_dirty) {
    m_info.h.incompatible_features &= ~kIncompatDirty;
    std::byte b[8];
    store_be64(b, m_info.h.incompatible_features);
    DK_TRY(io_write(m_file, 72, b));
    DK_TRY(m_file.flush());
    m_marked_dirty = false;
  }
  return {};
}

Result<std::unique_ptr<Layer>> Qcow2Layer::open(const std::string& path, const OpenOptions& opts) {
  if (opts.writable && opts.snapshot)
    return make_error(EINVAL, "'" + path + "': a snapshot can only be opened read-only");
  std::unique_ptr<Qcow2Layer> l(new Qcow2Layer(path, opts.writable));
  DK_TRY(l->load(opts));
  return std::unique_ptr<Layer>(std::move(l));
}

Result<void> Qcow2Layer::load(const OpenOptions& opts) {
  const std::string& path = filename();
  m_name = "'" + path + "'";
  int flags = writable() ? O_RDWR : O_RDONLY;
  if (opts.direct) flags |= O_DIRECT;
  if (opts.sync_writes) flags |= O_DSYNC;
  m_direct = opts.direct;
  m_file = DK_TRY(File::open(path, flags));
  m_file.set_flush_enabled(!opts.no_flush);
  DK_TRY(lock_image(m_file, writable() ? LockMode::kWrite : LockMode::kRead, opts.force_share));
  m_file_size = DK_TRY(m_file.size());
  std::vector<std::byte> head(std::min<uint64_t>(m_file_size, 1u << kMaxClusterBits));
  DK_TRY(io_read(m_file, 0, head));
  m_info = DK_TRY(parse_header(head, path));
  Header& h = m_info.h;
  if (h.incompatible_features & ~kIncompatKnown)
    return make_error(ENOTSUP, m_name + ": Unsupported qcow2 feature(s): " + unsupported_features(m_info));
  if (h.crypt_method != 0)
    return make_error(ENOTSUP, m_name + ": encrypted qcow2 images are not supported");
  // Opened by `check` (QEMU's BDRV_O_CHECK): a corrupt image may be opened
  // for repair, and a dirty one is left for the check to report and repair.
  const auto chk = opts.extra.find("check");
  const bool for_check = chk != opts.extra.end() && chk->second == "on";
  if ((h.incompatible_features & kIncompatCorrupt) && writable() && !for_check)
    return make_error(EACCES, m_name + ": qcow2: Image is corrupt; cannot be opened read/write");
  m_cluster_bits = h.cluster_bits;
  m_cs = 1ull << m_cluster_bits;
  m_comp_type = h.compression_type;
  m_ext_l2 = h.incompatible_features & kIncompatExtendedL2;
  if (m_ext_l2 && m_cluster_bits < 14)
    return make_error(EINVAL, m_name + ": extended L2 entries need a cluster size of at least 16 KiB");
  m_sc_size = m_ext_l2 ? m_cs / kSubclustersPerCluster : m_cs;
  m_l2_bits = m_cluster_bits - (m_ext_l2 ? 4 : 3);
  m_refcount_bits = 1u << h.refcount_order;
  m_rb_entries = m_cs * 8 / m_refcount_bits;
  m_l2_cache = MetaCache(std::max<uint64_t>(16, (32ull << 20) / m_cs));
  m_rb_cache = MetaCache(std::max<uint64_t>(8, (4ull << 20) / m_cs));
  DK_TRY(load_tables());
  DK_TRY(open_data_file(opts));
  DK_TRY(load_snapshots());
  if (opts.snapshot) DK_TRY(select_snapshot(*opts.snapshot));
  // A check changes no guest data, so bitmaps stay valid: their autoclear
  // bit is kept then (and the check counts their clusters, as QEMU does).
  if (writable() && !for_check) DK_TRY(writable_open_fixups());
  return {};
}

Result<void> Qcow2Layer::load_tables() {
  Header& h = m_info.h;
  auto read_table = [&](uint64_t off, uint64_t n, const std::string& what) -> Result<std::vector<uint64_t>> {
    if (!range_within(off, n * 8, m_file_size))
      return make_error(EINVAL, m_name + ": " + what + " offset " + hex(off) + " is beyond the end of the file");
    std::vector<std::byte> buf(n * 8);
    DK_TRY(io_read(m_file, off, buf));
    std::vector<uint64_t> t(n);
    for (uint64_t i = 0; i < n; ++i) t[i] = load_be64(buf.data() + i * 8);
    return t;
  };
  if (uint64_t(h.l1_size) * 8 > kMaxL1Bytes) return make_error(EFBIG, m_name + ": active L1 table too large");
  const uint64_t span = m_cs << m_l2_bits;
  if (h.size > (uint64_t(1) << 62))
    return make_error(EFBIG, m_name + ": image size " + std::to_string(h.size) + " is too big");
  if (div_round_up(h.size, span) > h.l1_size)
    return make_error(EINVAL, m_name + ": L1 table is too small for the image size");
  if (h.l1_size) {
    if (h.l1_table_offset % m_cs) return make_error(EINVAL, m_name + ": invalid L1 table offset " + hex(h.l1_table_offset));
    if (h.l1_table_offset < m_cs) return make_error(EINVAL, m_name + ": L1 table overlaps the header");
    m_l1 = DK_TRY(read_table(h.l1_table_offset, h.l1_size, "L1 table"));
  }
  const uint64_t rt_bytes = uint64_t(h.refcount_table_clusters) * m_cs;
  if (rt_bytes > kMaxRefTableBytes) return make_error(EFBIG, m_name + ": reference count table too large");
  if (h.refcount_table_clusters == 0) return make_error(EINVAL, m_name + ": image has no reference count table");
  if (h.refcount_table_offset % m_cs)
    return make_error(EINVAL, m_name + ": invalid reference count table offset " + hex(h.refcount_table_offset));
  if (h.refcount_table_offset < m_cs) return make_error(EINVAL, m_name + ": reference count table overlaps the header");
  m_rt = DK_TRY(read_table(h.refcount_table_offset, rt_bytes / 8, "reference count table"));
  return {};
}

Result<void> Qcow2Layer::open_data_file(const OpenOptions& opts) {
  Header& h = m_info.h;
  if (!(h.incompatible_features & kIncompatDataFile)) {
    if (h.autoclear_features & kAutoclearDataFileRaw)
      return make_error(EINVAL, m_name + ": data-file-raw requires a data-file");
    return {};
  }
  if (m_info.data_file.empty())
    return make_error(EINVAL, m_name + ": image needs an external data file but names none");
  m_data_raw = h.autoclear_features & kAutoclearDataFileRaw;
  // Like QEMU, the name is used as stored (relative names are relative to the working directory).
  m_data_path = m_info.data_file;
  int flags = writable() ? O_RDWR : O_RDONLY;
  if (opts.direct) flags |= O_DIRECT;
  if (opts.sync_writes) flags |= O_DSYNC;
  m_data = DK_TRY_CTX(File::open(m_data_path, flags), m_name + ": opening data file");
  m_data.set_flush_enabled(!opts.no_flush);
  DK_TRY(lock_image(m_data, writable() ? LockMode::kWrite : LockMode::kRead, opts.force_share));
  return {};
}

Result<void> Qcow2Layer::writable_open_fixups() {
  Header& h = m_info.h;
  bool rewrite = false;
  // Autoclear bits we do not maintain are cleared: their data may go stale.
  if (h.version >= 3 && (h.autoclear_features & ~kAutoclearKnown)) {
    h.autoclear_features &= kAutoclearKnown;
    rewrite = true;
  }
  if (h.incompatible_features & kIncompatDirty) {
    DK_TRY_CTX(repair_refcounts(), m_name + ": repairing the refcounts of a dirty image");
    DK_TRY(sync_all());
    h.incompatible_features &= ~kIncompatDirty;
    rewrite = true;
  }
  if (rewrite) DK_TRY(write_header());
  return {};
}

namespace {

int probe(std::span<const std::byte> head, std::string_view) {
  if (head.size() < 8) return 0;
  // Any version: the magic is ours, and open then reports an unsupported
  // version as qemu-img does rather than the file passing for raw.
  return load_be32(head.data()) == kMagic ? 100 : 0;
}

Result<std::unique_ptr<Layer>> open_image(const std::string& path, const OpenOptions& opts) {
  return Qcow2Layer::open(path, opts);
}

}  // namespace
}  // namespace dk::fmt::qcow2

namespace dk::fmt {
extern const FormatDriver kQcow2Driver = {
    "qcow2", qcow2::probe, qcow2::open_image, qcow2::create,
    std::span<const OptionDesc>(qcow2::kCreateOptions, qcow2::kCreateOptionCount), true};
}  // namespace dk::fmt
