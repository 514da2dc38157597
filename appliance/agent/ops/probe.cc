// vfs-type for devices the host cannot read itself (LVs, /dev/mapper
// devices): the superblock signatures blkid would report, read in the
// guest. The host probes its own disks natively (fs/probe).
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "appliance/agent/ops/common.h"

namespace dk::agent::ops {
namespace {

bool at(const std::vector<unsigned char>& b, size_t off, const char* magic, size_t n) {
  return b.size() >= off + n && std::memcmp(b.data() + off, magic, n) == 0;
}

uint32_t le32(const std::vector<unsigned char>& b, size_t off) {
  return b.size() < off + 4 ? 0
                            : static_cast<uint32_t>(b[off]) | static_cast<uint32_t>(b[off + 1]) << 8 |
                                  static_cast<uint32_t>(b[off + 2]) << 16 | static_cast<uint32_t>(b[off + 3]) << 24;
}

std::string type_of(const std::vector<unsigned char>& b) {
  if (at(b, 0, "XFSB", 4)) return "xfs";
  if (at(b, 0x10040, "_BHRfS_M", 8)) return "btrfs";
  if (at(b, 0, "LUKS\xba\xbe", 6)) return "crypto_LUKS";
  if (at(b, 0x218, "LVM2 001", 8) || at(b, 0x18, "LVM2 001", 8)) return "LVM2_member";
  if (at(b, 3, "NTFS    ", 8)) return "ntfs";
  if (at(b, 3, "EXFAT   ", 8)) return "exfat";
  if (b.size() > 0x43a && b[0x438] == 0x53 && b[0x439] == 0xef) {
    // ext: journal -> ext3; extents, 64bit, flex_bg... -> ext4 (blkid's rule, roughly).
    uint32_t compat = le32(b, 0x45c), incompat = le32(b, 0x460), ro_compat = le32(b, 0x464);
    if ((incompat & ~0x6u) != 0 || (ro_compat & ~0x7u) != 0) return "ext4";
    return (compat & 0x4u) ? "ext3" : "ext2";
  }
  if (at(b, 4086, "SWAPSPACE2", 10) || at(b, 4086, "SWAP-SPACE", 10)) return "swap";
  if (b.size() > 512 && b[510] == 0x55 && b[511] == 0xaa && (at(b, 0x52, "FAT32   ", 8) || at(b, 0x36, "FAT1", 4)))
    return "vfat";
  return "";
}

Result<json> op_vfs_type(Context& ctx) {
  std::string dev = DK_TRY(device_arg(ctx, "device", DevKind::Any));
  int fd = ::open(dev.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_error("'" + user_name(ctx, dev) + "'");
  std::vector<unsigned char> buf(0x11000);
  ssize_t n = ::pread(fd, buf.data(), buf.size(), 0);
  ::close(fd);
  if (n < 0) return errno_error("read '" + user_name(ctx, dev) + "'");
  buf.resize(static_cast<size_t>(n));
  return json(type_of(buf));
}

// read-head {device, length}: the device's first `length` bytes (at most
// 1 MiB) on the download stream, and its size: the host probes devices it
// cannot open itself (LVs) with its own prober, for the same type, label
// and UUID as on its disks.
Result<json> op_read_head(Context& ctx) {
  std::string dev = DK_TRY(device_arg(ctx, "device", DevKind::Any));
  int64_t len = DK_TRY(int_arg(ctx, "length"));
  if (len < 0 || len > (1 << 20)) return make_error(EINVAL, "read-head: length must be 0..1048576");
  int fd = ::open(dev.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_error("'" + user_name(ctx, dev) + "'");
  off_t size = ::lseek(fd, 0, SEEK_END);
  std::vector<std::byte> buf(static_cast<size_t>(len));
  ssize_t n = size < 0 ? -1 : ::pread(fd, buf.data(), buf.size(), 0);
  int err = errno;
  ::close(fd);
  if (n < 0) return make_error(err, "read '" + user_name(ctx, dev) + "': " + std::strerror(err));
  DK_TRY(ctx.write_download(std::span<const std::byte>(buf.data(), static_cast<size_t>(n))));
  return json{{"bytes", n}, {"size", static_cast<int64_t>(size)}};
}

}  // namespace

DK_AGENT_OP("vfs-type", op_vfs_type);
DK_AGENT_OP("read-head", op_read_head);

}  // namespace dk::agent::ops
