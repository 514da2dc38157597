// Shared by the ext files (internal).
#pragma once

#include <ext2fs/ext2fs.h>

#include <memory>
#include <string>

#include "fs/ext/ext.h"
#include "fs/ext/ext_io.h"

namespace dk::fs::ext {

class ExtFs;

// Turns a libext2fs code into an Error with `what` in front.
tl::unexpected<Error> ext_error(errcode_t code, const std::string& what);

class ExtInode final : public Inode {
 public:
  ExtInode(ExtFs& fs, ext2_ino_t ino) : m_fs(fs), m_ino(ino) {}

  uint64_t ino() const override { return m_ino; }
  Result<Stat> stat() override;
  Result<std::vector<DirEntry>> readdir() override;
  Result<InodePtr> lookup(std::string_view name) override;
  Result<InodePtr> child(const DirEntry& entry) override;
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

 private:
  Result<void> check_writable_dir(std::string_view name);
  // Reads [off, off+out.size()) of an extent-mapped file (inside its size)
  // straight from the device, one request per extent.
  Result<void> read_extents(ext2_inode_large& in, uint64_t off, std::span<std::byte> out);
  Result<ext2_ino_t> child_ino(std::string_view name);

  ExtFs& m_fs;
  ext2_ino_t m_ino;
};

class ExtFs final : public FileSystem {
 public:
  ExtFs(std::unique_ptr<fmt::Layer> dev, std::string channel, ext2_filsys fs, bool writable,
        std::string device_name);
  ~ExtFs() override;

  std::string_view type_name() const override { return m_type; }
  Result<InodePtr> root() override;
  Result<StatVfs> statvfs() override;
  bool read_only() const override { return !m_writable; }
  Result<void> flush() override;
  std::string label() const override;
  std::string uuid() const override;

  ext2_filsys fs() const { return m_fs; }
  fmt::Layer& device() const { return *m_dev; }
  const std::string& device_name() const { return m_device; }
  // Reads the full (large) inode; EIO naming the inode on failure.
  Result<void> read_inode(ext2_ino_t ino, struct ext2_inode_large& out);
  Result<void> write_inode(ext2_ino_t ino, struct ext2_inode_large& in);
  Result<void> require_writable();

 private:
  std::unique_ptr<fmt::Layer> m_dev;
  std::string m_channel;
  ext2_filsys m_fs;
  bool m_writable;
  std::string m_device;
  std::string m_type;
};

}  // namespace dk::fs::ext
