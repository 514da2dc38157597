// set-label, zero-device and zero: small device jobs guestfish runs in its
// appliance. set-label uses each file system's own tool, as libguestfs'
// daemon does.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

#include "appliance/agent/ops/common.h"

namespace dk::agent::ops {
namespace {

Result<json> op_set_label(Context& ctx) {
  std::string dev = DK_TRY(device_arg(ctx, "device", DevKind::Any));
  std::string type = DK_TRY(str_arg(ctx, "fstype"));
  std::string label = DK_TRY(str_arg(ctx, "label"));
  std::vector<std::string> argv;
  if (type == "ext2" || type == "ext3" || type == "ext4") {
    if (label.size() > 16) return make_error(ERANGE, "ext2/3/4 labels are limited to 16 bytes");
    argv = {"e2label", dev, label};
  } else if (type == "xfs") {
    if (label.size() > 12) return make_error(ERANGE, "xfs labels are limited to 12 bytes");
    argv = {"xfs_admin", "-L", label.empty() ? "--" : label, dev};
  } else if (type == "btrfs") {
    argv = {"btrfs", "filesystem", "label", dev, label};
  } else if (type == "vfat") {
    argv = {"fatlabel", dev, label};
  } else if (type == "ntfs") {
    argv = {"ntfslabel", dev, label};
  } else if (type == "exfat") {
    argv = {"tune.exfat", "-L", label, dev};
  } else if (type == "swap") {
    argv = {"swaplabel", "-L", label, dev};
  } else {
    return make_error(ENOTSUP, "set-label: don't know how to set the label for '" + type + "' filesystems");
  }
  DK_TRY(run_tool(ctx, argv, "set-label: " + user_name(ctx, dev)));
  return json(nullptr);
}

// Zeroes [off, off+len) of a block device with BLKZEROOUT (the device
// may unmap it), falling back to writes.
Result<void> zero_range(const std::string& dev, uint64_t off, uint64_t len, Context& ctx) {
  int fd = ::open(dev.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno_error("open " + dev);
  uint64_t range[2] = {off, len};
  if (len > 0 && ::ioctl(fd, BLKZEROOUT, range) != 0) {
    std::vector<char> zeros(1u << 20);
    for (uint64_t done = 0; done < len;) {
      if (ctx.cancelled()) {
        ::close(fd);
        return make_error(ECANCELED, "cancelled");
      }
      size_t n = static_cast<size_t>(std::min<uint64_t>(zeros.size(), len - done));
      ssize_t w = ::pwrite(fd, zeros.data(), n, static_cast<off_t>(off + done));
      if (w <= 0) {
        int e = errno;
        ::close(fd);
        return errno_error("write " + dev, e);
      }
      done += static_cast<uint64_t>(w);
      ctx.progress(done, len);
    }
  }
  int r = ::fsync(fd);
  ::close(fd);
  if (r != 0) return errno_error("fsync " + dev);
  return {};
}

Result<uint64_t> device_size(const std::string& dev) {
  int fd = ::open(dev.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_error("open " + dev);
  uint64_t size = 0;
  int r = ::ioctl(fd, BLKGETSIZE64, &size);
  if (r != 0) {
    off_t end = ::lseek(fd, 0, SEEK_END);
    size = end > 0 ? static_cast<uint64_t>(end) : 0;
  }
  ::close(fd);
  return size;
}

Result<json> op_zero_device(Context& ctx) {
  std::string dev = DK_TRY(device_arg(ctx, "device", DevKind::Any));
  uint64_t size = DK_TRY(device_size(dev));
  DK_TRY_CTX(zero_range(dev, 0, size, ctx), "zero-device: " + user_name(ctx, dev));
  return json(nullptr);
}

// guestfish's zero: the first 32 4 KiB blocks, enough to wipe partition tables
// and superblocks.
Result<json> op_zero(Context& ctx) {
  std::string dev = DK_TRY(device_arg(ctx, "device", DevKind::Any));
  uint64_t size = DK_TRY(device_size(dev));
  DK_TRY_CTX(zero_range(dev, 0, std::min<uint64_t>(size, 32 * 4096), ctx), "zero: " + user_name(ctx, dev));
  return json(nullptr);
}

}  // namespace

DK_AGENT_OP("set-label", op_set_label);
DK_AGENT_OP("zero-device", op_zero_device);
DK_AGENT_OP("zero", op_zero);

}  // namespace dk::agent::ops
