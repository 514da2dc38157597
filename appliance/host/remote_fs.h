// RemoteFs: an fs::FileSystem whose files live in the appliance. The
// device is mounted inside the guest (agent op "mount"); every Inode call
// becomes one agent request on a path inside that mount (ops in
// appliance/agent/ops/files.cc). This is how xfs, btrfs, ntfs, exfat, LVM
// volumes and opened LUKS devices reach fish, the one-shot tools and FUSE
// through the same fs/vfs.h interface as the native drivers.
//
// Inodes are paths (the guest resolves them confined to the mount); a
// directory listing brings every entry's lstat along, so walking a tree
// costs one request per directory, not per file.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "formats/core/error.h"
#include "fs/vfs.h"

namespace dk::appliance {

// What RemoteFs needs from a running agent: one request/answer call, and
// the two streaming variants. Appliance provides it; tests may fake it.
class AgentCalls {
 public:
  virtual ~AgentCalls();
  virtual Result<nlohmann::json> call(const std::string& op, const nlohmann::json& args) = 0;
  // Sends `data` as the request's upload stream.
  virtual Result<nlohmann::json> call_upload(const std::string& op, const nlohmann::json& args,
                                             std::span<const std::byte> data) = 0;
  // Appends the request's download stream to `out`.
  virtual Result<nlohmann::json> call_download(const std::string& op, const nlohmann::json& args,
                                               std::string& out) = 0;
};

struct RemoteMountOptions {
  std::string device;   // the user's name: /dev/sda1, /dev/vg/lv
  std::string type;     // the probed type for type_name() ("xfs"); empty: asked from the guest
  std::string vfstype;  // passed to mount -t (empty: the kernel probes)
  std::string options;  // mount -o
  bool writable = false;
};

// Mounts the device in the guest and returns the file system. `agent` must
// outlive it; the destructor unmounts it in the guest (errors ignored;
// call unmount() to see them).
Result<std::unique_ptr<class RemoteFs>> mount_remote(AgentCalls& agent, const RemoteMountOptions& o);

class RemoteFs : public fs::FileSystem {
 public:
  RemoteFs(AgentCalls& agent, int64_t mount_id, RemoteMountOptions o);
  ~RemoteFs() override;

  std::string_view type_name() const override { return m_opts.type; }
  Result<fs::InodePtr> root() override;
  Result<fs::StatVfs> statvfs() override;
  bool read_only() const override { return !m_opts.writable; }
  // syncfs in the guest: the data reaches the disk image.
  Result<void> flush() override;
  // Unmounts in the guest (once; later calls do nothing).
  Result<void> unmount();

  // For RemoteInode.
  AgentCalls& agent() { return m_agent; }
  nlohmann::json args(const std::string& path) const;
  const std::string& device() const { return m_opts.device; }
  int64_t mount_id() const { return m_mount_id; }

 private:
  AgentCalls& m_agent;
  int64_t m_mount_id;
  RemoteMountOptions m_opts;
  bool m_mounted = true;
};

// fs::Stat from the agent's stat object.
fs::Stat stat_from_json(const nlohmann::json& j);

}  // namespace dk::appliance
