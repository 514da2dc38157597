// Directories: records read into Nodes (names, attributes, extents), with
// multi-extent files joined, relocated directories (RRIP CL/RE) shown in
// place, and every extent checked against the device.
#include <algorithm>

#include "formats/core/checked_math.h"
#include "fs/iso9660/iso_internal.h"

namespace dk::fs::iso {
namespace {

constexpr size_t kMaxCachedNodes = size_t{1} << 18;

bool usable_name(const std::string& n) {
  return !n.empty() && n != "." && n != ".." && n.find('/') == std::string::npos &&
         n.find('\0') == std::string::npos;
}

uint64_t next_sector(uint64_t pos) { return (pos / kSectorSize + 1) * kSectorSize; }

}  // namespace

void IsoFs::apply_rock(Node& n, const Rock& rock) const {
  if (rock.mode) {
    uint32_t m = *rock.mode;
    FileType t = file_type_of_mode(m);
    // The record's directory bit decides what is a directory: a PX mode
    // disagreeing with it cannot be followed safely.
    if (n.is_dir()) m = S_IFDIR | (m & 07777);
    else if (t == FileType::Directory || t == FileType::Unknown) m = S_IFREG | (m & 07777);
    n.st.mode = m;
  }
  if (rock.uid) n.st.uid = *rock.uid;
  if (rock.gid) n.st.gid = *rock.gid;
  if (rock.nlink) n.st.nlink = *rock.nlink;
  if (rock.mtime) n.st.mtime = *rock.mtime;
  if (rock.atime) n.st.atime = *rock.atime;
  // Linux takes ctime from the creation stamp, then from the attributes one.
  if (rock.crtime) n.st.ctime = *rock.crtime;
  if (rock.ctime) n.st.ctime = *rock.ctime;
  if (rock.crtime) n.st.crtime = *rock.crtime;
  switch (n.st.type()) {
    case FileType::Symlink:
      n.extents.clear();
      n.link = rock.link.value_or("");
      n.st.size = n.link.size();
      if (rock.link_too_long) {
        n.problem_code = ENAMETOOLONG;
        n.problem = "symbolic link target is longer than " + std::to_string(kMaxPathLength) + " bytes";
      }
      break;
    case FileType::CharDev:
    case FileType::BlockDev:
      n.st.rdev = rock.rdev.value_or(0);
      [[fallthrough]];
    case FileType::Fifo:
    case FileType::Socket:
      n.extents.clear();
      n.st.size = 0;
      break;
    case FileType::Regular:
      if (rock.zisofs && !n.problem_code) {
        n.problem_code = ENOTSUP;
        n.problem = "file is compressed with zisofs, which is not supported";
      }
      break;
    default: break;
  }
  n.st.blocks = (n.st.size + 511) / 512;
}

Result<std::optional<Node>> IsoFs::make_node(const std::vector<Record>& recs, uint64_t pos) {
  const Record& r = recs[0];
  if (r.flags & kFlagAssociated) return std::optional<Node>();  // hidden, as Linux does by default
  Rock rock;
  if (m_names == Names::Rock) rock = parse_rock(r.system_use, false);
  if (rock.relocated) return std::optional<Node>();  // shown where its CL entry is
  Node n;
  if (rock.name) n.name = *rock.name;
  else if (m_names == Names::Joliet) n.name = joliet_name(r.name);
  else n.name = plain_name(r.name);
  if (!usable_name(n.name)) return std::optional<Node>();
  n.st.nlink = 1;
  n.st.blksize = static_cast<uint32_t>(m_block_size);
  Record attrs = r;  // the record whose Rock Ridge entries describe the node
  std::vector<uint8_t> relocated;  // holds a relocated directory's "." record
  bool dir = r.is_dir();
  if (rock.child_link) {
    // A relocated directory: its own "." record holds extent and attributes.
    // A bad one leaves a directory that fails to list, not a failed parent.
    dir = true;
    auto off = checked_mul(*rock.child_link, m_block_size);
    if (off && range_within(*off, kMinRecordSize, m_dev->size()))
      relocated = DK_TRY(read_bytes(*off, std::min<uint64_t>(kSectorSize, m_dev->size() - *off),
                                    "relocated directory '" + n.name + "'"));
    auto dot = parse_record(relocated);
    if (dot && dot->is_dot() && dot->is_dir()) {
      attrs = *dot;
      attrs.extent = *rock.child_link;
      attrs.ext_attr_length = 0;
      rock = parse_rock(dot->system_use, false);
    } else {
      attrs.extent = 0xffffffff;  // fails the bounds check below
    }
  }
  if (dir) {
    n.st.mode = S_IFDIR | 0555;
    auto off = checked_mul(uint64_t{attrs.extent} + attrs.ext_attr_length, m_block_size);
    n.dir_offset = off.value_or(0);
    n.dir_size = attrs.data_length;
    n.st.size = attrs.data_length;
    n.st.ino = n.dir_offset;
    if (!off || !range_within(*off, n.dir_size, m_dev->size())) {
      n.problem_code = EIO;
      n.problem = rock.child_link ? "relocated directory (CL) is missing or damaged"
                                  : "directory extent lies beyond the end of the device";
    }
  } else {
    n.st.mode = S_IFREG | 0555;
    n.st.ino = pos;
    for (const Record& e : recs) {
      auto off = checked_mul(uint64_t{e.extent} + e.ext_attr_length, m_block_size);
      if (e.data_length && (!off || !range_within(*off, e.data_length, m_dev->size())) && !n.problem_code) {
        n.problem_code = EIO;
        n.problem = "file extent lies beyond the end of the device";
      }
      if ((e.unit_size || e.gap_size) && !n.problem_code) {
        n.problem_code = ENOTSUP;
        n.problem = "interleaved file (unit size " + std::to_string(e.unit_size) + ", gap " +
                    std::to_string(e.gap_size) + ") is not supported";
      }
      if (e.data_length) n.extents.push_back({off.value_or(0), e.data_length});
      n.st.size += e.data_length;  // at most 2^16 * 2^32: no overflow
    }
  }
  // Times from the record; Rock Ridge TF entries override them.
  n.st.atime = n.st.mtime = n.st.ctime = record_time(attrs.date);
  apply_rock(n, rock);
  if (!dir && rock.ino) n.st.ino = rock.ino;
  return std::optional<Node>(std::move(n));
}

Result<Listing> IsoFs::read_listing(const Node& dir) {
  const std::string what = "directory '" + dir.name + "'";
  if (dir.problem_code) return make_error(dir.problem_code, prefix() + what + ": " + dir.problem);
  if (dir.dir_size > kMaxDirBytes)
    return make_error(EFBIG, prefix() + what + " is too large (" + std::to_string(dir.dir_size) + " bytes)");
  std::vector<uint8_t> buf = DK_TRY(read_bytes(dir.dir_offset, dir.dir_size, what));
  std::span<const uint8_t> all(buf);
  Listing l;
  // The next record at or after pos: a zero length byte means the rest of
  // the sector is padding (ECMA-119 6.8.1.1); so does a malformed record.
  auto next_record = [&](uint64_t& pos) -> std::optional<Record> {
    while (pos < all.size()) {
      auto rec = parse_record(all.subspan(pos));
      if (rec) return rec;
      pos = next_sector(pos);
    }
    return std::nullopt;
  };
  uint64_t pos = 0;
  while (auto rec = next_record(pos)) {
    const uint64_t here = pos;
    pos += rec->length;
    if (rec->is_dot() || rec->is_dotdot()) continue;
    std::vector<Record> run{*rec};
    // A multi-extent file: the following records continue it, the last
    // one without the flag (ECMA-119 6.5.1).
    while ((run.back().flags & kFlagMultiExtent) && !run.back().is_dir()) {
      if (run.size() >= kMaxExtentsPerFile)
        return make_error(EIO, prefix() + what + ": a file has more than " +
                                   std::to_string(kMaxExtentsPerFile) + " extents");
      auto more = next_record(pos);
      if (!more) break;
      pos += more->length;
      run.push_back(*more);
    }
    if (l.nodes.size() >= kMaxDirEntries)
      return make_error(EFBIG, prefix() + what + " has too many entries");
    auto node = DK_TRY(make_node(run, dir.dir_offset + here));
    if (node) l.nodes.push_back(std::move(*node));
  }
  l.by_name.resize(l.nodes.size());
  for (uint32_t i = 0; i < l.by_name.size(); ++i) l.by_name[i] = i;
  std::stable_sort(l.by_name.begin(), l.by_name.end(),
                   [&](uint32_t a, uint32_t b) { return l.nodes[a].name < l.nodes[b].name; });
  return l;
}

Result<std::shared_ptr<const Listing>> IsoFs::listing(const Node& dir) {
  const std::pair<uint64_t, uint64_t> key{dir.dir_offset, dir.dir_size};
  {
    std::lock_guard<std::mutex> g(m_cache_mutex);
    auto it = m_cache.find(key);
    if (it != m_cache.end()) return it->second;
  }
  auto l = std::make_shared<const Listing>(DK_TRY(read_listing(dir)));
  std::lock_guard<std::mutex> g(m_cache_mutex);
  if (m_cached_nodes + l->nodes.size() > kMaxCachedNodes) {
    m_cache.clear();
    m_cached_nodes = 0;
  }
  m_cache.emplace(key, l);
  m_cached_nodes += l->nodes.size();
  return l;
}

}  // namespace dk::fs::iso
