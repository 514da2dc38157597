// `qemu-img amend` for qcow2: version upgrade and downgrade (expanding zero
// clusters), lazy refcounts, refcount width and size, applied in the order of
// QEMU's qcow2_amend_options() and refused with its messages.
//
// Crash safety: each step writes its new structures (zeroed clusters, a
// snapshot table, refcount blocks and table) into free clusters and flushes
// them before the header is switched to them in one write; what the old
// header used is freed only afterwards. A crash therefore leaves either the
// old or the new image, at worst with leaked clusters (`check -r leaks`).
#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>

#include "formats/core/checked_math.h"
#include "formats/core/endian.h"
#include "formats/qcow2/header.h"
#include "formats/qcow2/qcow2.h"

namespace dk::fmt::qcow2 {

// The order and wording of `qemu-img amend -f qcow2 -o help` (7.2).
extern const OptionDesc kAmendOptions[] = {
    {"backing_file", "str", "File name of a base image", ""},
    {"backing_fmt", "str", "Image format of the base image", ""},
    {"compat", "str", "Compatibility level (v2 [0.10] or v3 [1.1])", ""},
    {"data_file", "str", "File name of an external data file", ""},
    {"data_file_raw", "bool", "The external data file must stay valid as a raw image", ""},
    {"encrypt.iter-time", "num", "Time to spend in PBKDF in milliseconds", ""},
    {"encrypt.keyslot", "num", "Select a single keyslot to modify explicitly", ""},
    {"encrypt.new-secret", "str", "New secret to set in the matching keyslots. Empty string to erase", ""},
    {"encrypt.old-secret", "str", "Select all keyslots that match this password", ""},
    {"encrypt.state", "str", "Select new state of affected keyslots (active/inactive)", ""},
    {"lazy_refcounts", "bool", "Postpone refcount updates", ""},
    {"refcount_bits", "num", "Width of a reference count entry in bits", ""},
    {"size", "size", "Virtual disk size", ""},
};
extern const size_t kAmendOptionCount = sizeof(kAmendOptions) / sizeof(kAmendOptions[0]);

namespace {

constexpr uint64_t kSector = 512;
constexpr uint32_t kSnapshotExtraV3 = 24;  // vm_state_size_large, disk_size, icount

const OptionDesc* find_option(const OptionDesc* list, size_t n, std::string_view key) {
  for (size_t i = 0; i < n; ++i)
    if (list[i].name == key) return &list[i];
  return nullptr;
}

// qemu_strtou64(base 0) as parse_option_number() uses it: a leading '-'
// negates (and wraps), trailing characters are an error.
std::optional<uint64_t> parse_qemu_number(const std::string& v) {
  if (v.empty()) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  unsigned long long n = std::strtoull(v.c_str(), &end, 0);
  if (errno || end == v.c_str() || *end) return std::nullopt;
  return n;
}

// qemu_strtosz(): a non-negative number with an optional binary suffix.
std::optional<uint64_t> parse_qemu_size(const std::string& v) {
  if (v.empty() || v[0] == '-' || !std::isdigit(static_cast<unsigned char>(v[0]))) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  long double n = std::strtold(v.c_str(), &end);
  if (errno || end == v.c_str()) return std::nullopt;
  const bool fraction = std::strchr(v.c_str(), '.') && std::strchr(v.c_str(), '.') < end;
  uint64_t mult = 1;
  if (*end) {
    const char* suffixes = "BKMGTPE";
    const char* s = std::strchr(suffixes, std::toupper(static_cast<unsigned char>(*end)));
    if (!s || end[1]) return std::nullopt;
    mult = 1ull << (10 * (s - suffixes));
  }
  if (fraction && mult == 1) return std::nullopt;
  long double r = n * mult;
  if (r >= 18446744073709551616.0L) return std::nullopt;
  return static_cast<uint64_t>(r);
}

Result<bool> parse_qemu_bool(const std::string& key, const std::string& v) {
  if (v == "on" || v == "yes" || v == "true" || v == "y") return true;
  if (v == "off" || v == "no" || v == "false" || v == "n") return false;
  return make_error(EINVAL, "Parameter '" + key + "' expects 'on' or 'off'");
}

// Bytes of the header cluster in use: up to the last non-zero byte, plus
// room for an end-of-extensions marker (eight zero bytes).
uint64_t used_bytes(std::span<const std::byte> cluster) {
  size_t last = cluster.size();
  while (last > 0 && cluster[last - 1] == std::byte{0}) --last;
  return std::min<uint64_t>(cluster.size(), last + 8);
}

// Maps a step's own 0..100 onto its share of the whole amend.
std::function<void(double)> sub_progress(const std::function<void(double)>& p, int index, int total) {
  return [p, index, total](double x) {
    if (p) p((index * 100.0 + x) / std::max(total, 1));
  };
}

// Where change_refcount_order() puts the new table and blocks: in clusters
// free in the old structures (so a crash before the header switch leaves
// them unreferenced), the table in the first free run long enough, each
// block in the next free cluster; iterated until the blocks also cover the
// clusters they and the table occupy.
struct RefcountLayout {
  uint64_t table = 0;  // first cluster of the table
  uint64_t table_clusters = 0;
  std::vector<uint64_t> indices;   // table indices that get a block, ascending
  std::vector<uint64_t> clusters;  // the cluster of each of those blocks
  std::vector<uint64_t> members;   // every cluster above, sorted
  bool holds(uint64_t c) const { return std::binary_search(members.begin(), members.end(), c); }
};

Result<RefcountLayout> plan_refcount_layout(const std::vector<bool>& needed, uint64_t E, uint64_t cs,
                                            const std::function<Result<bool>(uint64_t)>& is_free,
                                            const std::string& name) {
  const uint64_t max_entries = kMaxRefTableBytes / 8;
  RefcountLayout lay;
  for (int iter = 0;; ++iter) {
    if (iter > 64) return make_error(EIO, name + ": refcount table layout does not converge");
    std::vector<bool> need = needed;
    for (uint64_t c : lay.members) {
      if (c / E >= max_entries) return make_error(EFBIG, name + ": the new refcount table would be too large");
      if (c / E >= need.size()) need.resize(c / E + 1);
      need[c / E] = true;
    }
    std::vector<uint64_t> idx;
    for (uint64_t i = 0; i < need.size(); ++i)
      if (need[i]) idx.push_back(i);
    const uint64_t T = div_round_up((idx.empty() ? 1 : idx.back() + 1) * 8, cs);
    if (T * cs > kMaxRefTableBytes) return make_error(EFBIG, name + ": the new refcount table would be too large");
    if (iter > 0 && T == lay.table_clusters && idx == lay.indices) return lay;
    lay.table_clusters = T;
    lay.indices = std::move(idx);
    // The table: the first run of T free clusters (cluster 0 is the header).
    uint64_t run = 0;
    for (uint64_t c = 1; run < T; ++c) {
      run = DK_TRY(is_free(c)) ? run + 1 : 0;
      if (run == T) lay.table = c + 1 - T;
    }
    lay.clusters.clear();
    for (uint64_t c = 1; lay.clusters.size() < lay.indices.size(); ++c)
      if ((c < lay.table || c >= lay.table + T) && DK_TRY(is_free(c))) lay.clusters.push_back(c);
    lay.members = lay.clusters;
    for (uint64_t i = 0; i < T; ++i) lay.members.push_back(lay.table + i);
    std::sort(lay.members.begin(), lay.members.end());
  }
}

}  // namespace

Result<Qcow2Layer::AmendSpec> parse_amend_options(const std::vector<std::pair<std::string, std::string>>& items) {
  Qcow2Layer::AmendSpec spec;
  for (const auto& [key, value] : items) {
    const OptionDesc* d = find_option(kAmendOptions, kAmendOptionCount, key);
    if (!d) {
      std::string msg = "Invalid parameter '" + key + "'";
      if (find_option(kCreateOptions, kCreateOptionCount, key))
        msg += "\nThis option is only supported for image creation";
      return make_error(EINVAL, msg);
    }
    if (d->type == "bool") {
      bool b = DK_TRY(parse_qemu_bool(key, value));
      (key == "lazy_refcounts" ? spec.lazy_refcounts : spec.data_file_raw) = b;
    } else if (d->type == "num") {
      auto n = parse_qemu_number(value);
      if (!n) return make_error(EINVAL, "Parameter '" + key + "' expects a number");
      if (key == "refcount_bits") spec.refcount_bits = *n;
    } else if (d->type == "size") {
      auto n = parse_qemu_size(value);
      if (!n)
        return make_error(EINVAL, "Parameter '" + key +
                                      "' expects a non-negative number below 2^64\n"
                                      "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
                                      "and exabytes, respectively.");
      spec.size = *n;
    } else if (key == "compat") {
      spec.compat = value;
    } else if (key == "backing_file") {
      spec.backing_file = value;
    } else if (key == "backing_fmt") {
      spec.backing_fmt = value;
    } else if (key == "data_file") {
      spec.data_file = value;
    }
    if (key.starts_with("encrypt.")) spec.encryption = true;
  }
  return spec;
}

namespace {

struct AmendTargets {
  uint32_t version;
  uint32_t refcount_bits;
};

// The checks QEMU makes while walking its option list, before any change.
Result<AmendTargets> amend_targets(const Qcow2Layer::AmendSpec& spec, const Header& h, uint32_t refcount_bits) {
  AmendTargets t{h.version, refcount_bits};
  if (spec.compat) {
    if (*spec.compat == "0.10" || *spec.compat == "v2")
      t.version = 2;
    else if (*spec.compat == "1.1" || *spec.compat == "v3")
      t.version = 3;
    else
      return make_error(EINVAL, "Unknown compatibility level " + *spec.compat);
  }
  if (spec.data_file && !(h.incompatible_features & kIncompatDataFile))
    return make_error(EINVAL, "data-file can only be set for images that use an external data file");
  if (spec.data_file_raw.value_or(false) && !(h.autoclear_features & kAutoclearDataFileRaw))
    return make_error(EINVAL, "data-file-raw cannot be set on existing images");
  if (spec.encryption) return make_error(EINVAL, "Can't amend encryption options - encryption not present");
  if (spec.refcount_bits) {
    const uint64_t b = *spec.refcount_bits;
    if (b == 0 || b > 64 || (b & (b - 1)))
      return make_error(EINVAL, "Refcount width must be a power of two and may not exceed 64 bits");
    t.refcount_bits = static_cast<uint32_t>(b);
  }
  return t;
}

}  // namespace

Result<void> Qcow2Layer::amend(const AmendSpec& spec, const std::function<void(double)>& progress) {
  if (!writable()) return make_error(EROFS, m_name + ": image is opened read-only");
  Header& h = m_info.h;
  const uint32_t old_version = h.version;
  const AmendTargets target = DK_TRY(amend_targets(spec, h, m_refcount_bits));
  const uint32_t new_version = target.version, new_bits = target.refcount_bits;
  const int total = (new_version != old_version) + (new_bits != m_refcount_bits);
  int step = 0;
  DK_TRY(sync_all());

  // Upgrade first: later steps may need v3.
  if (new_version > old_version) DK_TRY(amend_upgrade(sub_progress(progress, step++, total)));
  if (new_bits != m_refcount_bits) {
    if (new_version < 3 && new_bits != 16)
      return make_error(EINVAL,
                        "Refcount widths other than 16 bits require compatibility level 1.1 or above "
                        "(use compat=1.1 or greater)");
    DK_TRY(change_refcount_order(std::countr_zero(new_bits), sub_progress(progress, step++, total)));
  }
  const uint64_t old_used = DK_TRY(header_used_bytes());
  if (spec.data_file_raw && !*spec.data_file_raw) {
    h.autoclear_features &= ~kAutoclearDataFileRaw;
    m_data_raw = false;
  }
  if (spec.data_file) {
    m_info.data_file = *spec.data_file;
    m_info.has_data_file_ext = !spec.data_file->empty();
  }
  // QEMU rewrites the header here whatever changed.
  DK_TRY(write_header_in_place(old_used));

  if (spec.backing_file || spec.backing_fmt) {
    auto stored = [](const std::string& s) { return s.empty() ? std::nullopt : std::optional<std::string>(s); };
    if (spec.backing_file != stored(m_info.backing_file) || spec.backing_fmt != stored(m_info.backing_format))
      return make_error(EINVAL, "Cannot amend the backing file\nYou can use 'qemu-img rebase' instead.");
  }

  const bool lazy = h.compatible_features & kCompatLazyRefcounts;
  if (spec.lazy_refcounts && *spec.lazy_refcounts != lazy) {
    if (*spec.lazy_refcounts && new_version < 3)
      return make_error(EINVAL,
                        "Lazy refcounts only supported with compatibility level 1.1 and above "
                        "(use compat=1.1 or greater)");
    DK_TRY(sync_all());
    const uint64_t used = DK_TRY(header_used_bytes());
    if (*spec.lazy_refcounts) {
      h.compatible_features |= kCompatLazyRefcounts;
    } else {
      // Refcounts are always kept current here (a dirty image was repaired
      // when it was opened), so clearing the dirty bit makes it clean.
      h.compatible_features &= ~kCompatLazyRefcounts;
      h.incompatible_features &= ~kIncompatDirty;
      m_marked_dirty = false;
    }
    DK_TRY(write_header_in_place(used));
  }

  if (spec.size) {
    // qcow2_co_truncate()'s refusals, in its words.
    if (spec.size % 512) return make_error(EINVAL, "The new size must be a multiple of 512");
    if (!m_snaps.empty() && h.version < 3)
      return make_error(ENOTSUP, "Can't resize a v2 image which has snapshots");
    DK_TRY(truncate(spec.size, true));
  }

  // Downgrade last, once nothing needs v3 any more.
  if (new_version < old_version) DK_TRY(amend_downgrade(sub_progress(progress, step++, total)));
  DK_TRY(sync_all());
  DK_TRY(m_file.flush());
  return {};
}

Result<uint64_t> Qcow2Layer::header_used_bytes() {
  std::vector<std::byte> head(m_cs);
  DK_TRY(io_read(m_file, 0, head));
  return used_bytes(head);
}

// Rewrites the header cluster so that every moment on disk holds either the
// old or the new header: the part of the cluster the current header does not
// use is written first, then the first sector (written atomically by disks).
Result<void> Qcow2Layer::write_header_in_place(uint64_t old_used) {
  std::vector<std::byte> buf = DK_TRY(serialize_header(m_info, filename()));
  const uint64_t new_used = used_bytes(buf);
  auto put = [&](uint64_t from, uint64_t to) -> Result<void> {
    if (to <= from) return {};
    DK_TRY(io_write(m_file, from, std::span<const std::byte>(buf).subspan(from, to - from)));
    return m_file.flush();
  };
  const uint64_t end = std::max(old_used, new_used);
  if (new_used <= kSector) {
    DK_TRY(put(0, std::min(kSector, m_cs)));
    DK_TRY(put(kSector, end));
  } else if (old_used <= kSector) {
    DK_TRY(put(kSector, end));
    DK_TRY(put(0, kSector));
  } else {
    // Both headers are larger than a sector: one write, as QEMU does.
    DK_TRY(put(0, end));
  }
  return {};
}

Result<void> Qcow2Layer::amend_upgrade(const std::function<void(double)>& progress) {
  progress(0);
  // v3 requires each snapshot to record its disk size and 64-bit VM state
  // size; QEMU then rewrites the whole table in the v3 layout.
  const bool need_table = std::any_of(m_snaps.begin(), m_snaps.end(),
                                      [](const SnapshotRecord& s) { return s.extra.size() < 16; });
  const uint64_t old_table = m_info.h.snapshots_offset, old_bytes = m_snap_table_bytes;
  const uint64_t old_used = DK_TRY(header_used_bytes());
  HeaderInfo saved = m_info;
  if (need_table) {
    auto [off, bytes] = DK_TRY(write_snapshot_table_v3());
    m_info.h.snapshots_offset = off;
    m_snap_table_bytes = bytes;
  }
  progress(50);
  m_info.h.version = 3;
  m_info.h.refcount_order = 4;
  m_info.h.compression_type = kCompressionZlib;
  auto r = write_header_in_place(old_used);
  if (!r) {
    m_info = std::move(saved);
    return r;
  }
  if (need_table) {
    for (uint64_t c = old_table / m_cs; c < div_round_up(old_table + old_bytes, m_cs); ++c) DK_TRY(add_refcount(c, -1));
    DK_TRY(sync_all());
  }
  progress(100);
  return {};
}

// Writes the snapshot table in the v3 layout (every record with 24 bytes of
// extra data, unknown extra data kept after them) into new clusters and
// returns (offset, bytes). The header still points at the old table.
Result<std::pair<uint64_t, uint64_t>> Qcow2Layer::write_snapshot_table_v3() {
  std::vector<std::byte> table;
  for (SnapshotRecord& s : m_snaps) {
    std::vector<uint8_t> extra(kSnapshotExtraV3);
    auto* e = reinterpret_cast<std::byte*>(extra.data());
    store_be64(e, s.info.vm_state_size);
    store_be64(e + 8, s.info.disk_size);
    store_be64(e + 16, s.info.icount.value_or(UINT64_MAX));
    if (s.extra.size() > kSnapshotExtraV3) extra.insert(extra.end(), s.extra.begin() + kSnapshotExtraV3, s.extra.end());
    std::byte fixed[40] = {};
    store_be64(fixed, s.l1_table_offset);
    store_be32(fixed + 8, s.l1_size);
    store_be16(fixed + 12, static_cast<uint16_t>(s.info.id.size()));
    store_be16(fixed + 14, static_cast<uint16_t>(s.info.name.size()));
    store_be32(fixed + 16, static_cast<uint32_t>(s.info.date_sec));
    store_be32(fixed + 20, static_cast<uint32_t>(s.info.date_nsec));
    store_be64(fixed + 24, s.info.vm_clock_nsec);
    store_be32(fixed + 32, static_cast<uint32_t>(s.info.vm_state_size));
    store_be32(fixed + 36, static_cast<uint32_t>(extra.size()));
    table.insert(table.end(), fixed, fixed + 40);
    auto append = [&](const void* p, size_t n) {
      const auto* b = static_cast<const std::byte*>(p);
      table.insert(table.end(), b, b + n);
    };
    append(extra.data(), extra.size());
    append(s.info.id.data(), s.info.id.size());
    append(s.info.name.data(), s.info.name.size());
    table.resize(align_up(table.size(), 8));
    s.extra = std::move(extra);
  }
  const uint64_t bytes = table.size();
  table.resize(align_up(bytes, m_cs));
  const uint64_t off = DK_TRY(alloc_clusters(table.size() / m_cs));
  DK_TRY(io_write(m_file, off, table));
  // The table and its refcounts reach the disk before the header names it.
  DK_TRY(sync_all());
  DK_TRY(m_file.flush());
  return std::pair{off, bytes};
}

Result<void> Qcow2Layer::amend_downgrade(const std::function<void(double)>& progress) {
  Header& h = m_info.h;
  if (m_refcount_bits != 16) return make_error(ENOTSUP, "compat=0.10 requires refcount_bits=16");
  if (h.incompatible_features & kIncompatDataFile)
    return make_error(ENOTSUP, "Cannot downgrade an image with a data file");
  for (const SnapshotRecord& s : m_snaps)
    if (s.info.vm_state_size > UINT32_MAX || s.info.disk_size != size())
      return make_error(ENOTSUP, "Internal snapshots prevent downgrade of image");
  DK_TRY(sync_all());
  h.incompatible_features &= ~kIncompatDirty;  // the refcounts are current (see amend())
  m_marked_dirty = false;
  if (const uint64_t f = h.incompatible_features & ~kIncompatCompression) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(f));
    return make_error(ENOTSUP, std::string("Cannot downgrade an image with incompatible features 0x") + buf + " set");
  }
  // QEMU 7.2 keeps the bitmap directory in the v2 header, where nothing
  // reads it, and leaks its clusters; refuse instead.
  for (const Extension& e : m_info.unknown)
    if (e.type == kExtBitmaps)
      return make_error(ENOTSUP, "Cannot downgrade an image with persistent bitmaps (remove them first)");
  // Checked before the zero clusters are expanded (QEMU checks after) so a
  // refused downgrade leaves the image untouched.
  if (h.compression_type != kCompressionZlib && DK_TRY(has_compressed_clusters()))
    return make_error(ENOTSUP, "Cannot downgrade an image with zstd compression type and existing compressed clusters");
  DK_TRY_CTX(expand_zero_clusters(progress), "Failed to turn zero into data clusters");
  const uint64_t old_used = DK_TRY(header_used_bytes());
  HeaderInfo saved = m_info;
  h.incompatible_features = 0;
  h.compatible_features = 0;
  h.autoclear_features = 0;
  h.compression_type = kCompressionZlib;
  h.version = 2;
  auto r = write_header_in_place(old_used);
  if (!r) {
    m_info = std::move(saved);
    return r;
  }
  m_comp_type = kCompressionZlib;
  return {};
}

Result<std::vector<std::vector<uint64_t>>> Qcow2Layer::all_l1_tables() {
  std::vector<std::vector<uint64_t>> tables{m_l1};
  for (const SnapshotRecord& s : m_snaps) {
    std::vector<std::byte> buf(uint64_t(s.l1_size) * 8);
    DK_TRY(io_read(m_file, s.l1_table_offset, buf));
    std::vector<uint64_t> l1(s.l1_size);
    for (size_t i = 0; i < l1.size(); ++i) l1[i] = load_be64(buf.data() + i * 8);
    tables.push_back(std::move(l1));
  }
  return tables;
}

Result<bool> Qcow2Layer::has_compressed_clusters() {
  const auto tables = DK_TRY(all_l1_tables());
  const uint32_t esize = m_ext_l2 ? 16 : 8;
  for (const auto& l1 : tables) {
    for (uint64_t l1e : l1) {
      const uint64_t l2 = DK_TRY(check_l2_offset(l1e));
      if (!l2) continue;
      CacheEntry* t = DK_TRY(l2_load(l2, false));
      for (uint64_t i = 0; i < l2_entries(); ++i)
        if (load_be64(t->data.data() + i * esize) & kOflagCompressed) return true;
    }
  }
  return false;
}

// QEMU's qcow2_expand_zero_clusters(): v2 has no zero flag, so every zero
// cluster of the active image and of the snapshots becomes either
// unallocated (plain zero with no backing file: reads as zero anyway) or an
// allocated cluster filled with zeroes.
Result<void> Qcow2Layer::expand_zero_clusters(const std::function<void(double)>& progress) {
  const auto tables = DK_TRY(all_l1_tables());
  uint64_t total = 0, done = 0;
  for (const auto& l1 : tables) total += l1.size();
  for (const auto& l1 : tables) {
    for (uint64_t l1e : l1) {
      const uint64_t l2 = DK_TRY(check_l2_offset(l1e));
      if (l2) DK_TRY(expand_zero_in_l2(l2));
      ++done;
      progress(total ? 100.0 * done / total : 100.0);
    }
  }
  DK_TRY(sync_all());
  return {};
}

Result<void> Qcow2Layer::expand_zero_in_l2(uint64_t l2_offset) {
  // A table shared by several L1 tables (snapshots) gives each data
  // cluster it points at one reference per sharer.
  const uint64_t l2_refcount = DK_TRY(get_refcount(l2_offset / m_cs));
  if (l2_refcount == 0)
    return make_error(EIO, m_name + ": L2 table at " + hex(l2_offset) + " has refcount 0 (image is corrupt)");
  const std::vector<std::byte> zeroes(m_cs);
  for (uint64_t i = 0; i < l2_entries(); ++i) {
    CacheEntry* t = DK_TRY(l2_load(l2_offset, false));
    const uint64_t e = load_be64(t->data.data() + i * 8);
    if ((e & kOflagCompressed) || !(e & kOflagZero)) continue;
    const uint64_t host = e & kL2OffsetMask;
    uint64_t target = host;
    if (host == 0 && !backing()) {
      DK_TRY(store_entry(t, i, 0, 0));
      continue;
    }
    if (host != 0) {
      if (host % m_cs) return make_error(EIO, m_name + ": unaligned cluster offset " + hex(host));
      // Zeroing in place is only right when no other table uses the cluster.
      if (DK_TRY(get_refcount(host / m_cs)) > l2_refcount) {
        target = 0;
        for (uint64_t k = 0; k < l2_refcount; ++k) free_later(host, m_cs);
      }
    }
    if (target == 0) {
      target = DK_TRY(alloc_clusters(1));
      if (l2_refcount > 1) DK_TRY(set_refcount(target / m_cs, l2_refcount));
    }
    // The zeroes reach the disk before the table (sync_all orders it).
    DK_TRY(io_write(m_file, target, zeroes));
    const bool copied = DK_TRY(get_refcount(target / m_cs)) == 1;
    t = DK_TRY(l2_load(l2_offset, false));
    DK_TRY(store_entry(t, i, target | (copied ? kOflagCopied : 0), 0));
  }
  return {};
}

// QEMU's qcow2_change_refcount_order(): the counts are copied into new
// refcount blocks and a new table of the new width, placed after everything
// in use (they count themselves); one header write switches to them; the
// old blocks and table are then freed in the new structures.
Result<void> Qcow2Layer::change_refcount_order(uint32_t order, const std::function<void(double)>& progress) {
  const uint32_t new_bits = 1u << order;
  const uint64_t new_max = new_bits == 64 ? UINT64_MAX : (1ull << new_bits) - 1;
  const uint64_t E = m_cs * 8 / new_bits;  // entries per new block
  const uint64_t max_entries = kMaxRefTableBytes / 8;
  progress(0);
  DK_TRY(sync_all());
  // Pass 1: the new blocks that will hold a non-zero count, and the end of
  // everything in use.
  std::vector<bool> needed;
  uint64_t end = DK_TRY(file_end_cluster());
  for (uint64_t r = 0; r < m_rt.size(); ++r) {
    const uint64_t rb = m_rt[r] & kRefTableOffsetMask;
    if (!rb) continue;
    CacheEntry* b = DK_TRY(rb_load(rb));
    for (uint64_t k = 0; k < m_rb_entries; ++k) {
      const uint64_t v = refcount_entry(b->data.data(), k, m_refcount_bits);
      if (!v) continue;
      const uint64_t c = r * m_rb_entries + k;
      if (v > new_max) {
        char msg[160];
        std::snprintf(msg, sizeof msg,
                      "Cannot decrease refcount entry width to %u bits: Cluster at offset %#llx has a refcount of %llu",
                      new_bits, static_cast<unsigned long long>(c * m_cs), static_cast<unsigned long long>(v));
        return make_error(EINVAL, msg);
      }
      if (c / E >= max_entries) return make_error(EFBIG, m_name + ": the new refcount table would be too large");
      end = std::max(end, c + 1);
      if (c / E >= needed.size()) needed.resize(c / E + 1);
      needed[c / E] = true;
    }
    progress(40.0 * (r + 1) / m_rt.size());
  }
  auto is_free = [&](uint64_t c) -> Result<bool> { return c >= end || DK_TRY(get_refcount(c)) == 0; };
  const RefcountLayout lay = DK_TRY(plan_refcount_layout(needed, E, m_cs, is_free, m_name));
  const uint64_t T = lay.table_clusters;
  // Pass 2: write the blocks, then the table, then flush.
  std::vector<uint64_t> new_rt(T * m_cs / 8, 0);
  std::vector<std::byte> blk(m_cs);
  for (size_t i = 0; i < lay.indices.size(); ++i) {
    std::fill(blk.begin(), blk.end(), std::byte{0});
    const uint64_t first = lay.indices[i] * E;
    for (uint64_t c = first; c < first + E; ++c) {
      uint64_t v = 0;
      if (lay.holds(c))
        v = 1;
      else if (c < end)
        v = DK_TRY(get_refcount(c));
      if (v) set_refcount_entry(blk.data(), c - first, new_bits, v);
    }
    const uint64_t at = lay.clusters[i] * m_cs;
    DK_TRY(io_write(m_file, at, blk));
    new_rt[lay.indices[i]] = at;
    progress(40 + 50.0 * (i + 1) / lay.indices.size());
  }
  std::vector<std::byte> tbuf(T * m_cs);
  for (size_t i = 0; i < new_rt.size(); ++i) store_be64(tbuf.data() + i * 8, new_rt[i]);
  DK_TRY(io_write(m_file, lay.table * m_cs, tbuf));
  DK_TRY(m_file.flush());

  const uint64_t meta_end = lay.members.empty() ? 0 : lay.members.back() + 1;
  DK_TRY(switch_refcount_structures(order, lay.table * m_cs, T, std::move(new_rt), meta_end));
  DK_TRY(sync_all());
  progress(100);
  return {};
}

// Points the header at the new refcount table (written and flushed by the
// caller) and width in one write, then frees the old table and blocks,
// counted in the new structures.
Result<void> Qcow2Layer::switch_refcount_structures(uint32_t order, uint64_t table_offset, uint64_t table_clusters,
                                                    std::vector<uint64_t> new_rt, uint64_t meta_end) {
  const uint64_t old_used = DK_TRY(header_used_bytes());
  HeaderInfo saved = m_info;
  const std::vector<uint64_t> old_rt = m_rt;
  const uint64_t old_table = m_info.h.refcount_table_offset, old_clusters = m_info.h.refcount_table_clusters;
  m_info.h.refcount_order = order;
  m_info.h.refcount_table_offset = table_offset;
  m_info.h.refcount_table_clusters = static_cast<uint32_t>(table_clusters);
  auto r = write_header_in_place(old_used);
  if (!r) {
    m_info = std::move(saved);
    return r;
  }
  m_refcount_bits = 1u << order;
  m_rb_entries = m_cs * 8 / m_refcount_bits;
  m_rt = std::move(new_rt);
  m_rb_cache = MetaCache(std::max<uint64_t>(8, (4ull << 20) / m_cs));
  m_free_cluster_index = 0;
  m_free_byte_offset = 0;
  m_alloc_high = std::max(m_alloc_high, meta_end);
  // The old structures are now unreferenced (a crash here only leaks them).
  for (uint64_t e : old_rt)
    if (e & kRefTableOffsetMask) DK_TRY(add_refcount((e & kRefTableOffsetMask) / m_cs, -1));
  for (uint64_t i = 0; i < old_clusters; ++i) DK_TRY(add_refcount(old_table / m_cs + i, -1));
  return {};
}

}  // namespace dk::fmt::qcow2
