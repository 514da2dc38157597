// The Inode side: directory listing and lookup (with cycle detection),
// file reads across extents, symbolic links.
#include <algorithm>
#include <cstring>

#include "fs/iso9660/iso_internal.h"

namespace dk::fs::iso {

Result<std::shared_ptr<const Listing>> IsoInode::entries() {
  if (!m_node->is_dir()) return make_error(ENOTDIR, std::strerror(ENOTDIR));
  return m_fs.listing(*m_node);
}

Result<std::vector<DirEntry>> IsoInode::readdir() {
  auto l = DK_TRY(entries());
  std::vector<DirEntry> out;
  out.reserve(l->nodes.size());
  for (const Node& n : l->nodes) out.push_back({n.name, n.st.ino, n.st.type()});
  return out;
}

Result<InodePtr> IsoInode::make_child(std::shared_ptr<const Listing> l, uint32_t index) {
  const Node* n = &l->nodes[index];
  auto chain = std::make_shared<std::vector<uint64_t>>(*m_ancestors);
  chain->push_back(m_node->dir_offset);
  if (n->is_dir()) {
    // A directory whose extent is one of its ancestors' would make the tree
    // infinite (a hostile record, or a CL entry pointing upwards).
    if (std::find(chain->begin(), chain->end(), n->dir_offset) != chain->end())
      return make_error(ELOOP, m_fs.prefix() + "directory '" + n->name + "' is its own ancestor (a cycle)");
    if (chain->size() >= static_cast<size_t>(kMaxDepth))
      return make_error(ELOOP, m_fs.prefix() + "directories nested deeper than " +
                                   std::to_string(kMaxDepth) + " levels");
  }
  return std::make_shared<IsoInode>(m_fs, std::move(l), n, std::move(chain));
}

namespace {

// The first index (in name order) of `name` in l.by_name, or end.
std::vector<uint32_t>::const_iterator first_named(const Listing& l, std::string_view name) {
  return std::lower_bound(l.by_name.begin(), l.by_name.end(), name,
                          [&](uint32_t i, std::string_view key) { return l.nodes[i].name < key; });
}

}  // namespace

Result<InodePtr> IsoInode::lookup(std::string_view name) {
  auto l = DK_TRY(entries());
  auto it = first_named(*l, name);
  if (it == l->by_name.end() || l->nodes[*it].name != name) return make_error(ENOENT, std::strerror(ENOENT));
  return make_child(l, *it);
}

// Names can repeat in a directory (file versions, hostile images): the
// entry is told apart by its inode number too, so a walk sees each once.
Result<InodePtr> IsoInode::child(const DirEntry& entry) {
  auto l = DK_TRY(entries());
  auto first = first_named(*l, entry.name);
  for (auto it = first; it != l->by_name.end() && l->nodes[*it].name == entry.name; ++it)
    if (l->nodes[*it].st.ino == entry.ino) return make_child(l, *it);
  if (first == l->by_name.end() || l->nodes[*first].name != entry.name)
    return make_error(ENOENT, std::strerror(ENOENT));
  return make_child(l, *first);
}

Result<size_t> IsoInode::read(uint64_t off, std::span<std::byte> out) {
  const Node& n = *m_node;
  if (n.is_dir()) return make_error(EISDIR, std::strerror(EISDIR));
  if (n.st.type() == FileType::Symlink) {
    if (off >= n.link.size()) return size_t{0};
    size_t k = std::min<size_t>(out.size(), n.link.size() - off);
    std::memcpy(out.data(), n.link.data() + off, k);
    return k;
  }
  if (off >= n.st.size || out.empty()) return size_t{0};
  if (n.problem_code) return make_error(n.problem_code, m_fs.prefix() + "'" + n.name + "': " + n.problem);
  const size_t want = static_cast<size_t>(std::min<uint64_t>(out.size(), n.st.size - off));
  const uint64_t end = off + want;
  uint64_t file_pos = 0;
  for (const Node::Extent& e : n.extents) {
    const uint64_t e_end = file_pos + e.length;
    if (e_end > off && file_pos < end) {
      uint64_t a = std::max(off, file_pos), b = std::min(end, e_end);
      auto r = m_fs.device().read(e.offset + (a - file_pos), out.subspan(a - off, b - a));
      if (!r) return make_error(r.error().with_context(m_fs.prefix() + "reading '" + n.name + "'"));
    }
    file_pos = e_end;
    if (file_pos >= end) break;
  }
  return want;
}

Result<std::string> IsoInode::readlink() {
  if (m_node->st.type() != FileType::Symlink) return make_error(EINVAL, std::strerror(EINVAL));
  if (m_node->problem_code)
    return make_error(m_node->problem_code, m_fs.prefix() + "'" + m_node->name + "': " + m_node->problem);
  return m_node->link;
}

}  // namespace dk::fs::iso
