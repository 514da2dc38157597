// Volume descriptors (ECMA-119 8): blkid's identification, and opening the
// file system (which tree and which names to use).
#include <sys/statvfs.h>

#include <cctype>
#include <cstdio>
#include <cstring>

#include "formats/core/checked_math.h"
#include "fs/iso9660/iso_internal.h"

namespace dk::fs {
namespace iso {
namespace {

constexpr size_t kVdSetOffset = kSystemAreaSectors * kSectorSize;
constexpr int kBlkidMaxDescriptors = 16;  // libblkid looks at this many

bool is_descriptor(const uint8_t* vd) { return std::memcmp(vd + 1, "CD001", 5) == 0; }

int joliet_level(const uint8_t* vd) {
  if (vd[0] != kVdSupplementary || vd[88] != '%' || vd[89] != '/') return 0;
  switch (vd[90]) {
    case '@': return 1;
    case 'C': return 2;
    case 'E': return 3;
    default: return 0;
  }
}

// Drops control bytes (labels end up on terminals) and trailing white space.
std::string clean_label(std::string s) {
  std::string out;
  for (char c : s)
    if (static_cast<uint8_t>(c) >= 0x20 && c != 0x7f) out += c;
  while (!out.empty() && std::isspace(static_cast<unsigned char>(out.back()))) out.pop_back();
  return out;
}

// libblkid's reconstruction of a label: the Joliet id holds 16 UCS-2
// characters of what the primary id spells in up to 32 restricted ASCII
// ones. When the Joliet id is a prefix of the ASCII id (ignoring case and
// '_' standing for characters ASCII cannot hold), the Joliet characters
// are kept and the rest of the ASCII id appended; otherwise nullopt.
std::optional<std::string> merge_label(const uint8_t* ucs, const uint8_t* ascii, size_t n) {
  std::vector<uint8_t> out;
  size_t a = 0, u = 0;
  for (; u + 1 < n && a < n; ++a, u += 2) {
    if (ucs[u] >= 0xd8 && ucs[u] <= 0xdb && u + 3 < n && ucs[u + 2] >= 0xdc && ucs[u + 2] <= 0xdf) {
      out.push_back(ucs[u]);
      out.push_back(ucs[u + 1]);
      u += 2;
    }
    uint8_t hi = ucs[u], lo = ucs[u + 1], c = ascii[a];
    if (c == '_') {
      out.push_back(hi);
      out.push_back(lo);
    } else if (hi == 0 && lo == '_') {
      out.push_back(0);
      out.push_back(c);
    } else if (hi == 0 && std::toupper(c) == std::toupper(lo)) {
      out.push_back(0);
      out.push_back(std::isupper(c) ? lo : c);
    } else {
      return std::nullopt;
    }
  }
  for (; a < n; ++a) {
    out.push_back(0);
    out.push_back(ascii[a]);
  }
  return utf16be_to_utf8(out);
}

std::string ascii_field(const uint8_t* p, size_t n) {
  return std::string(reinterpret_cast<const char*>(p), strnlen(reinterpret_cast<const char*>(p), n));
}

// blkid's UUID: the 16 date characters, when the date is set and printable.
std::string date_uuid(const uint8_t* d) {
  bool all_zero = d[16] == 0;
  for (int i = 0; i < 16; ++i) {
    if (d[i] < 0x20 || d[i] > 0x7e) return {};
    all_zero = all_zero && d[i] == '0';
  }
  if (all_zero) return {};
  const char* c = reinterpret_cast<const char*>(d);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4s-%.2s-%.2s-%.2s-%.2s-%.2s-%.2s", c, c + 4, c + 6, c + 8, c + 10,
                c + 12, c + 14);
  return buf;
}

}  // namespace
}  // namespace iso

bool identify_iso9660(std::span<const uint8_t> head, ProbeResult& out) {
  using namespace iso;
  if (head.size() < kVdSetOffset + kSectorSize || !is_descriptor(head.data() + kVdSetOffset)) return false;
  const uint8_t* pvd = nullptr;
  const uint8_t* joliet = nullptr;
  for (int i = 0; i < kBlkidMaxDescriptors; ++i) {
    size_t off = kVdSetOffset + i * kSectorSize;
    if (off + kSectorSize > head.size()) break;
    const uint8_t* vd = head.data() + off;
    if (vd[0] == kVdTerminator) break;
    if (!pvd && vd[0] == kVdPrimary) pvd = vd;
    else if (!joliet && joliet_level(vd)) joliet = vd;
  }
  if (!pvd) return false;
  ProbeResult r;
  r.type = "iso9660";
  r.uuid = date_uuid(pvd + 830);               // modification date
  if (r.uuid.empty()) r.uuid = date_uuid(pvd + 813);  // creation date
  if (joliet) {
    r.version = "Joliet Extension";
    auto merged = merge_label(joliet + 40, pvd + 40, 32);
    r.label = clean_label(merged ? *merged : utf16be_to_utf8(std::span(joliet + 40, 32)));
  } else {
    r.label = clean_label(ascii_field(pvd + 40, 32));
  }
  r.size = uint64_t{both32(pvd + 80)} * both16(pvd + 128);
  out = std::move(r);
  return true;
}

namespace iso {

IsoFs::IsoFs(std::unique_ptr<fmt::Layer> dev, std::string device_name)
    : m_dev(std::move(dev)), m_device(std::move(device_name)) {}

tl::unexpected<Error> IsoFs::erofs() const {
  return make_error(EROFS, prefix() + "ISO 9660 file systems are read-only");
}

Result<void> IsoFs::load() {
  const uint64_t dev_size = m_dev->size();
  // The volume descriptor set: the first primary and Joliet descriptors.
  std::vector<uint8_t> pvd, joliet;
  for (int i = 0; i < kMaxVolumeDescriptors; ++i) {
    uint64_t off = kVdSetOffset + uint64_t(i) * kSectorSize;
    if (off + kSectorSize > dev_size) break;
    std::vector<uint8_t> vd = DK_TRY(read_bytes(off, kSectorSize, "volume descriptor"));
    if (!is_descriptor(vd.data())) break;
    if (vd[0] == kVdTerminator) break;
    if (vd[0] == kVdPrimary && pvd.empty()) pvd = std::move(vd);
    else if (joliet.empty() && joliet_level(vd.data())) joliet = std::move(vd);
  }
  if (pvd.empty()) return make_error(EINVAL, prefix() + "no ISO 9660 primary volume descriptor found");
  m_block_size = both16(pvd.data() + 128);
  if (m_block_size != 512 && m_block_size != 1024 && m_block_size != 2048)
    return make_error(EINVAL, prefix() + "unsupported ISO 9660 logical block size " +
                                  std::to_string(m_block_size));
  m_volume_blocks = both32(pvd.data() + 80);

  std::vector<uint8_t> head(std::min<uint64_t>(dev_size, kVdSetOffset + 32 * kSectorSize));
  DK_TRY(m_dev->read(0, std::as_writable_bytes(std::span(head))));
  ProbeResult id;
  if (identify_iso9660(head, id)) {
    m_label = id.label;
    m_uuid = id.uuid;
  }

  // Linux's choice: Rock Ridge when the root's "." record announces it
  // (ER), else Joliet, else Rock Ridge entries without ER, else plain names.
  Node root = DK_TRY(root_node(pvd.data() + 156));
  auto first = DK_TRY(read_bytes(root.dir_offset, std::min<uint64_t>(root.dir_size, kSectorSize),
                                 "the root directory"));
  auto dot = parse_record(first);
  Rock rock;
  if (dot && dot->is_dot()) rock = parse_rock(dot->system_use, true);
  if (rock.sp) m_rock_skip = rock.skip;
  if (rock.er) m_names = Names::Rock;
  else if (!joliet.empty()) m_names = Names::Joliet;
  else if (rock.sp || rock.rrip) m_names = Names::Rock;
  if (m_names == Names::Joliet) {
    root = DK_TRY(root_node(joliet.data() + 156));
  } else if (m_names == Names::Rock && dot) {
    Rock attrs = parse_rock(dot->system_use, false);
    apply_rock(root, attrs);
    root.st.ino = root.dir_offset;
  }
  auto l = std::make_shared<Listing>();
  l->nodes.push_back(std::move(root));
  l->by_name.push_back(0);
  m_root = std::move(l);
  return {};
}

Result<Node> IsoFs::root_node(const uint8_t* root_record) {
  auto rec = parse_record(std::span(root_record, 34));
  if (!rec || !rec->is_dir()) return make_error(EINVAL, prefix() + "the root directory record is damaged");
  Node n;
  n.name = "/";
  auto off = checked_mul(uint64_t{rec->extent} + rec->ext_attr_length, m_block_size);
  if (!off || !range_within(*off, rec->data_length, m_dev->size()) || rec->data_length == 0)
    return make_error(EIO, prefix() + "the root directory lies beyond the end of the device");
  n.dir_offset = *off;
  n.dir_size = rec->data_length;
  n.st.mode = S_IFDIR | 0555;
  n.st.nlink = 1;
  n.st.size = rec->data_length;
  n.st.blocks = (n.st.size + 511) / 512;
  n.st.blksize = static_cast<uint32_t>(m_block_size);
  n.st.atime = n.st.mtime = n.st.ctime = record_time(rec->date);
  n.st.ino = n.dir_offset;
  return n;
}

Result<InodePtr> IsoFs::root() {
  return std::make_shared<IsoInode>(*this, m_root, &m_root->nodes[0],
                                    std::make_shared<const std::vector<uint64_t>>());
}

Result<StatVfs> IsoFs::statvfs() {
  StatVfs v;
  v.bsize = v.frsize = m_block_size;
  v.blocks = m_volume_blocks;
  v.bfree = v.bavail = 0;
  v.flag = ST_RDONLY;
  v.namemax = kMaxNameLength;
  return v;
}

Result<std::vector<uint8_t>> IsoFs::read_bytes(uint64_t off, uint64_t len, const std::string& what) {
  if (!range_within(off, len, m_dev->size()))
    return make_error(EIO, prefix() + what + " lies beyond the end of the device");
  std::vector<uint8_t> buf(len);
  auto r = m_dev->read(off, std::as_writable_bytes(std::span(buf)));
  if (!r) return make_error(r.error().with_context(prefix() + "reading " + what));
  return buf;
}

}  // namespace iso

Result<std::unique_ptr<FileSystem>> open_iso9660(std::unique_ptr<fmt::Layer> dev, const IsoOpenOptions& opts) {
  std::string name = opts.device_name.empty() ? dev->filename() : opts.device_name;
  auto fs = std::make_unique<iso::IsoFs>(std::move(dev), name);
  DK_TRY(fs->load());
  return std::unique_ptr<FileSystem>(std::move(fs));
}

}  // namespace dk::fs
