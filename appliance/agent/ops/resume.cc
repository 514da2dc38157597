// resume: what the host sends first after it booted the appliance or
// restored a saved one. A restored guest wakes with the clock and the
// random generator state of the moment it was saved, so the host passes
// the time and fresh entropy: without them every file the guest writes
// would carry the save's date and every mkfs the same "random" UUID. Then
// it waits for the disks the host hot-plugged and assembles md arrays on
// them (LVM is activated on demand by vg-activate-all).
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/random.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "appliance/agent/devices.h"
#include "appliance/agent/ops/common.h"
#include "appliance/agent/server.h"

namespace dk::agent::ops {
namespace {

Result<std::vector<unsigned char>> hex_bytes(const std::string& hex) {
  if (hex.size() % 2 || hex.size() > 1024) return make_error(EINVAL, "entropy: not a hex string of at most 512 bytes");
  std::vector<unsigned char> out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    auto nib = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    int hi = nib(hex[i]), lo = nib(hex[i + 1]);
    if (hi < 0 || lo < 0) return make_error(EINVAL, "entropy: not a lowercase hex string");
    out.push_back(static_cast<unsigned char>(hi * 16 + lo));
  }
  return out;
}

// Mixes the bytes into the kernel's pool, credits them and reseeds the
// generator at once (it would otherwise reseed only minutes later).
Result<void> add_entropy(const std::vector<unsigned char>& bytes) {
  int fd = ::open("/dev/urandom", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno_error("/dev/urandom");
  std::vector<unsigned char> buf(sizeof(rand_pool_info) + bytes.size());
  auto* info = reinterpret_cast<rand_pool_info*>(buf.data());
  info->entropy_count = static_cast<int>(bytes.size() * 8);
  info->buf_size = static_cast<int>(bytes.size());
  std::memcpy(info->buf, bytes.data(), bytes.size());
  Result<void> out;
  if (::ioctl(fd, RNDADDENTROPY, info) != 0 || ::ioctl(fd, RNDRESEEDCRNG) != 0) out = errno_error("entropy");
  ::close(fd);
  return out;
}

Result<json> op_resume(Context& ctx) {
  const DeviceMap& dev = current_devices();
  if (auto t = DK_TRY(opt_int(ctx, "time_ns")); t && dev.in_guest()) {
    timespec ts{static_cast<time_t>(*t / 1000000000), static_cast<long>(*t % 1000000000)};
    if (*t < 0 || ::clock_settime(CLOCK_REALTIME, &ts) != 0) return errno_error("resume: setting the clock");
  }
  if (auto e = DK_TRY(opt_str(ctx, "entropy")); e && dev.in_guest()) DK_TRY(add_entropy(DK_TRY(hex_bytes(*e))));
  const int64_t want = DK_TRY(opt_int(ctx, "disks")).value_or(0);
  if (want < 0 || want > 64) return make_error(EINVAL, "resume: disks must be 0..64");
  // Hot-plugged disks appear as the guest probes them: wait (30 s at most)
  // until every one the host attached is there.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    auto disks = dev.disks();
    if (static_cast<int64_t>(disks.size()) >= want) break;
    if (ctx.cancelled()) return make_error(ECANCELED, "resume: cancelled");
    if (std::chrono::steady_clock::now() > deadline)
      return make_error(ETIMEDOUT, "resume: " + std::to_string(want) + " disks attached, the guest sees " +
                                       std::to_string(disks.size()));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (dev.in_guest()) {
    // The kernel lists a disk in /sys/block before it has read its
    // partition table; re-reading it waits for that scan to finish.
    for (const auto& d : dev.disks()) {
      std::string g = DK_TRY(dev.to_guest(d));
      int fd = -1;
      while ((fd = ::open(g.c_str(), O_RDONLY | O_CLOEXEC)) < 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      if (fd < 0) return errno_error("resume: " + d);
      (void)::ioctl(fd, BLKRRPART);
      ::close(fd);
    }
    if (want > 0) (void)run_command({"mdadm", "--assemble", "--scan"});
  }
  json out = json::object();
  out["disks"] = dev.disks();
  return out;
}

}  // namespace

DK_AGENT_OP("resume", op_resume);

}  // namespace dk::agent::ops
