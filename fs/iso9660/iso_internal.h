// The ISO 9660 FileSystem and Inode classes (internal to fs/iso9660).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "fs/iso9660/format.h"
#include "fs/iso9660/iso9660.h"

namespace dk::fs::iso {

// Which names (and attributes) the tree is read with.
enum class Names : uint8_t { Plain, Joliet, Rock };

// One file or directory as the driver sees it, built from its directory
// record(s) and their Rock Ridge entries.
struct Node {
  std::string name;
  Stat st;
  uint64_t dir_offset = 0;  // directories: byte offset and length of the extent
  uint64_t dir_size = 0;
  struct Extent {
    uint64_t offset;  // bytes into the device
    uint64_t length;
  };
  std::vector<Extent> extents;  // regular files, in file order
  std::string link;             // symbolic links
  // Why the data cannot be read (empty when it can): interleaving, zisofs,
  // an extent beyond the device. stat() and readdir() still work.
  int problem_code = 0;
  std::string problem;

  bool is_dir() const { return st.type() == FileType::Directory; }
};

// The parsed entries of one directory, and an index by name.
struct Listing {
  std::vector<Node> nodes;
  std::vector<uint32_t> by_name;  // indices into nodes, sorted by name then position
};

class IsoFs final : public FileSystem {
 public:
  IsoFs(std::unique_ptr<fmt::Layer> dev, std::string device_name);

  // Reads the volume descriptors, chooses the name space, builds the root.
  Result<void> load();

  std::string_view type_name() const override { return "iso9660"; }
  Result<InodePtr> root() override;
  Result<StatVfs> statvfs() override;
  bool read_only() const override { return true; }
  Result<void> flush() override { return {}; }
  std::string label() const override { return m_label; }
  std::string uuid() const override { return m_uuid; }

  const std::string& device_name() const { return m_device; }
  fmt::Layer& device() { return *m_dev; }
  Names names() const { return m_names; }
  uint64_t block_size() const { return m_block_size; }

  // `len` bytes at `off` of the device; EIO naming `what` when the range is
  // not inside the device.
  Result<std::vector<uint8_t>> read_bytes(uint64_t off, uint64_t len, const std::string& what);
  // The entries of directory `dir` (cached; bounded).
  Result<std::shared_ptr<const Listing>> listing(const Node& dir);
  // The Rock Ridge entries of a System Use field, CE areas followed.
  Rock parse_rock(std::span<const uint8_t> system_use, bool root_dot) const;
  // Message prefix "'/dev/sda': ".
  std::string prefix() const { return "'" + m_device + "': "; }
  tl::unexpected<Error> erofs() const;

 private:
  Result<Listing> read_listing(const Node& dir);
  // Builds the node for the record run recs[0..] found at byte `pos`.
  Result<std::optional<Node>> make_node(const std::vector<Record>& recs, uint64_t pos);
  void apply_rock(Node& n, const Rock& rock) const;
  Result<Node> root_node(const uint8_t* root_record);

  std::unique_ptr<fmt::Layer> m_dev;
  std::string m_device;
  uint64_t m_block_size = kSectorSize;
  uint64_t m_volume_blocks = 0;
  Names m_names = Names::Plain;
  uint8_t m_rock_skip = 0;
  std::string m_label, m_uuid;
  std::shared_ptr<const Listing> m_root;  // one node: the root directory

  std::mutex m_cache_mutex;
  std::map<std::pair<uint64_t, uint64_t>, std::shared_ptr<const Listing>> m_cache;  // by extent
  size_t m_cached_nodes = 0;
};

class IsoInode final : public Inode {
 public:
  // `node` lives in `owner`; `ancestors` are the directory offsets from the
  // root down to this node's parent (cycle detection).
  IsoInode(IsoFs& fs, std::shared_ptr<const Listing> owner, const Node* node,
           std::shared_ptr<const std::vector<uint64_t>> ancestors)
      : m_fs(fs), m_owner(std::move(owner)), m_node(node), m_ancestors(std::move(ancestors)) {}

  uint64_t ino() const override { return m_node->st.ino; }
  Result<Stat> stat() override { return m_node->st; }
  Result<std::vector<DirEntry>> readdir() override;
  Result<InodePtr> lookup(std::string_view name) override;
  Result<InodePtr> child(const DirEntry& entry) override;
  Result<size_t> read(uint64_t off, std::span<std::byte> out) override;
  Result<std::string> readlink() override;

  Result<size_t> write(uint64_t, std::span<const std::byte>) override { return m_fs.erofs(); }
  Result<void> truncate(uint64_t) override { return m_fs.erofs(); }
  Result<void> chmod(uint32_t) override { return m_fs.erofs(); }
  Result<void> chown(std::optional<uint32_t>, std::optional<uint32_t>) override { return m_fs.erofs(); }
  Result<void> utimens(std::optional<Timespec>, std::optional<Timespec>) override { return m_fs.erofs(); }
  Result<InodePtr> create(std::string_view, const NewFile&) override { return m_fs.erofs(); }
  Result<InodePtr> mkdir(std::string_view, const NewFile&) override { return m_fs.erofs(); }
  Result<InodePtr> symlink(std::string_view, std::string_view, const NewFile&) override {
    return m_fs.erofs();
  }
  Result<void> unlink(std::string_view) override { return m_fs.erofs(); }
  Result<void> rmdir(std::string_view) override { return m_fs.erofs(); }
  Result<void> rename(std::string_view, Inode&, std::string_view) override { return m_fs.erofs(); }

 private:
  Result<std::shared_ptr<const Listing>> entries();
  Result<InodePtr> make_child(std::shared_ptr<const Listing> l, uint32_t index);

  IsoFs& m_fs;
  std::shared_ptr<const Listing> m_owner;
  const Node* m_node;
  std::shared_ptr<const std::vector<uint64_t>> m_ancestors;
};

}  // namespace dk::fs::iso
