// Shared by the FAT files (internal): the FileSystem, the per-file state
// every Inode handle of one file shares, and directory access.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "fs/fat/bpb.h"
#include "fs/fat/dirent.h"
#include "fs/fat/fat.h"
#include "fs/fat/table.h"

namespace dk::fs::fat {

inline constexpr uint64_t kRootIno = 1;
// Linux refuses directories above 65536 entries; bigger chains are corrupt.
inline constexpr uint64_t kMaxDirBytes = 65536 * kEntrySize;

// Where a directory's entries live on the device.
struct DirView {
  uint32_t cluster = 0;               // first cluster (0: FAT12/16 fixed root)
  std::vector<uint8_t> bytes;         // all its entries
  std::vector<uint64_t> extents;      // device offset of each extent_size piece
  uint64_t extent_size = 0;
  std::vector<uint32_t> chain;        // its clusters (empty for the fixed root)

  uint32_t entry_count() const { return static_cast<uint32_t>(bytes.size() / kEntrySize); }
  uint64_t entry_offset(uint32_t index) const {
    uint64_t b = uint64_t{index} * kEntrySize;
    return extents[b / extent_size] + b % extent_size;
  }
};

// One file or directory. Every Inode handle of it shares this, so a rename,
// a size change or a removal through one handle is seen by all.
struct Node {
  uint64_t ino = 0;
  bool root = false;
  bool removed = false;
  uint64_t entry_off = 0;       // device offset of the short entry (not for the root)
  uint32_t parent_cluster = 0;  // first cluster of the containing directory (0: the root)
  RawEntry raw;                 // the short entry as last read or written
  std::vector<uint32_t> chain;  // cached cluster chain, valid when chain_ok
  bool chain_ok = false;
  std::string name;             // for messages
  // Directories: the parsed entries, valid while dir_gen equals the file
  // system's metadata generation.
  uint64_t dir_gen = ~uint64_t{0};
  std::shared_ptr<const DirView> dir_view;
  std::vector<Parsed> dir_parsed;
  std::unordered_map<std::string, size_t> dir_index;  // fold_name(long or short name) -> dir_parsed index
};

class FatFs final : public FileSystem {
 public:
  FatFs(std::unique_ptr<fmt::Layer> dev, const Geometry& g, bool writable, std::string name,
        std::function<void(const std::string&)> warn);
  // Writes what is still queued (errors are lost here: tools call flush()).
  ~FatFs() override;

  std::string_view type_name() const override { return "vfat"; }
  Result<InodePtr> root() override;
  Result<StatVfs> statvfs() override;
  bool read_only() const override { return !m_writable; }
  Result<void> flush() override;
  std::string label() const override { return m_label; }
  std::string uuid() const override;

  const Geometry& geo() const { return m_g; }
  const std::string& name() const { return m_name; }
  fmt::Layer& device() { return *m_dev; }
  FatTable& table() { return m_table; }
  Result<void> require_writable();
  void set_label(std::string l) { m_label = std::move(l); }
  tl::unexpected<Error> corrupt(const std::string& what) const;

  // ---- Chains and directories ----
  // The chain starting at `first`, at most max_clusters long; EIO for a
  // free or out-of-range link, or a loop. stop_short: a chain ending before
  // max_clusters is fine (directories); otherwise it is EIO (file sizes).
  Result<std::vector<uint32_t>> chain_of(uint32_t first, uint64_t max_clusters, bool stop_short,
                                         const std::string& what);
  // The first cluster a directory entry names for a subdirectory, as a
  // directory id (0 is the root).
  uint32_t dir_id(const Node& n) const;
  Result<DirView> load_dir(uint32_t cluster, const std::string& what);
  // Device reads of metadata that see directory changes not flushed yet.
  Result<void> read_meta(uint64_t off, std::span<uint8_t> out);
  // Stores a 32-byte entry (kept in memory until flush()).
  Result<void> write_entry(uint64_t off, const RawEntry& e);
  // Reads [off, off+out.size()) of clusters `chain` (byte offsets inside the chain).
  Result<void> read_chain(const std::vector<uint32_t>& chain, uint64_t off, std::span<std::byte> out);
  Result<void> write_chain(const std::vector<uint32_t>& chain, uint64_t off, std::span<const std::byte> in);
  Result<void> zero_clusters(const std::vector<uint32_t>& clusters);
  // Makes bytes [from, to) of the chain read as zeros.
  Result<void> zero_chain(const std::vector<uint32_t>& chain, uint64_t from, uint64_t to);

  // Bumped by every metadata change, so cached directory listings are re-read.
  uint64_t generation() const { return m_gen; }
  void changed() { ++m_gen; }

  // ---- Nodes ----
  std::shared_ptr<Node> root_node() { return m_root; }
  // The shared node of the entry `p` of directory `dir`.
  std::shared_ptr<Node> node_for(const Parsed& p, const DirView& dir);
  // The shared node of the short entry at device offset `off`.
  std::shared_ptr<Node> node_at(uint64_t off, const RawEntry& raw, uint32_t parent, const std::string& name);
  void rekey(Node& n, uint64_t new_off);
  InodePtr inode(std::shared_ptr<Node> n);
  Result<std::vector<uint32_t>*> file_chain(Node& n);

  // ---- Allocation (alloc.cc) ----
  // n free clusters linked as one chain ending in an end mark, appended to
  // `tail` (0: a new chain). ENOSPC, with nothing changed, when too few.
  Result<std::vector<uint32_t>> allocate(uint64_t n, uint32_t tail);
  // Frees the chain from `first` (loops end at an already freed cluster).
  Result<void> free_chain(uint32_t first);
  Result<uint64_t> free_count();
  // Writes an entry's change or queued metadata past a size threshold.
  Result<void> maybe_commit();

 private:
  Result<void> commit();
  Result<void> write_fsinfo();
  bool pending_free(uint32_t c) const;

  std::unique_ptr<fmt::Layer> m_dev;
  Geometry m_g;
  bool m_writable;
  std::string m_name;
  std::function<void(const std::string&)> m_warn;
  FatTable m_table;
  std::string m_label;
  std::shared_ptr<Node> m_root;
  std::unordered_map<uint64_t, std::weak_ptr<Node>> m_nodes;
  size_t m_nodes_sweep = 64;
  std::map<uint64_t, std::vector<uint8_t>> m_dirty_sectors;
  std::vector<uint64_t> m_pending_free;  // bitmap of clusters freed since the last commit
  bool m_any_pending = false;
  uint64_t m_gen = 0;
  std::optional<uint64_t> m_free;
  uint32_t m_next_free = kFirstCluster;
  bool m_fsinfo_dirty = false;
};

class FatInode final : public Inode {
 public:
  FatInode(FatFs& fs, std::shared_ptr<Node> n) : m_fs(fs), m_node(std::move(n)) {}

  uint64_t ino() const override { return m_node->ino; }
  Result<Stat> stat() override;
  Result<std::vector<DirEntry>> readdir() override;
  Result<InodePtr> lookup(std::string_view name) override;
  Result<size_t> read(uint64_t off, std::span<std::byte> out) override;
  Result<std::string> readlink() override;

  Result<size_t> write(uint64_t off, std::span<const std::byte> in) override;
  Result<void> truncate(uint64_t size) override;
  Result<void> chmod(uint32_t mode) override;
  Result<void> chown(std::optional<uint32_t> uid, std::optional<uint32_t> gid) override;
  Result<void> utimens(std::optional<Timespec> atime, std::optional<Timespec> mtime) override;
  Result<InodePtr> create(std::string_view name, const NewFile& attr) override;
  Result<InodePtr> mkdir(std::string_view name, const NewFile& attr) override;
  Result<InodePtr> symlink(std::string_view name, std::string_view target, const NewFile& attr) override;
  Result<void> unlink(std::string_view name) override;
  Result<void> rmdir(std::string_view name) override;
  Result<void> rename(std::string_view name, Inode& new_parent, std::string_view new_name) override;

  Node& node() { return *m_node; }
  bool is_dir() const { return m_node->root || m_node->raw.is_dir(); }

 private:
  Result<void> check_alive() const;
  // This directory's entries (cached in the node until a metadata change).
  Result<void> load();
  // The parsed entry called `name` (long or short name, ASCII case folded).
  Result<const Parsed*> find(std::string_view name);
  // Writes long-name slots and the short entry `e` (its name filled in) for
  // `name` into this directory, growing it when full; returns the short
  // entry's device offset.
  Result<uint64_t> place_entry(std::string_view name, RawEntry& e);
  // Marks the entry's slots deleted; the node is marked removed unless `moving`.
  Result<void> remove_entry(const Parsed& p, bool moving);
  Result<bool> dir_empty(uint32_t cluster, const std::string& name);
  // EINVAL when directory `moved` is `this` directory or one of its ancestors.
  Result<void> check_not_ancestor(uint32_t moved);
  // Grows or shrinks the file; bytes past the old size read as zeros except
  // [keep_lo, keep_hi), which the caller writes next.
  Result<void> set_size(Node& n, uint64_t size, uint64_t keep_lo = 0, uint64_t keep_hi = 0);
  Result<void> store(Node& n);

  FatFs& m_fs;
  std::shared_ptr<Node> m_node;
};

}  // namespace dk::fs::fat
