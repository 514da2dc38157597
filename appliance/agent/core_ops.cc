// The agent's own ops: liveness, devices, running a command, raw device
// streams and shutdown. File system, partition, LVM and LUKS ops live in
// ops/.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "appliance/agent/op.h"
#include "appliance/agent/server.h"

namespace dk::agent {
namespace {

using nlohmann::json;

constexpr const char* kAgentVersion = "diskit-agent 1";

Result<json> op_ping(Context&) { return json{{"pong", true}}; }

Result<json> op_version(Context&) {
  struct utsname u {};
  ::uname(&u);
  return json{{"agent", kAgentVersion}, {"kernel", u.release}, {"machine", u.machine}};
}

Result<json> op_list_devices(Context&) { return json(current_devices().disks()); }
Result<json> op_list_partitions(Context&) { return json(current_devices().partitions()); }

// exec {argv: [..], stdin?: "..."} -> {status, stdout, stderr}
Result<json> op_exec(Context& ctx) {
  const json& a = ctx.args();
  auto it = a.find("argv");
  if (it == a.end() || !it->is_array() || it->empty()) return make_error(EINVAL, "argument 'argv' must be a non-empty array");
  std::vector<std::string> argv;
  for (const auto& v : *it) {
    if (!v.is_string()) return make_error(EINVAL, "argument 'argv' must hold strings");
    argv.push_back(v.get<std::string>());
  }
  std::string input;
  if (auto s = a.find("stdin"); s != a.end() && s->is_string()) input = s->get<std::string>();
  CommandResult r = DK_TRY(run_command(argv, input));
  auto text = [](const std::string& s) { return json(s).dump(-1, ' ', false, json::error_handler_t::replace); };
  return json{{"status", r.status}, {"stdout", json::parse(text(r.out))}, {"stderr", json::parse(text(r.err))}};
}

Result<std::string> device_of(Context& ctx) {
  const json& a = ctx.args();
  auto it = a.find("device");
  if (it == a.end() || !it->is_string()) return make_error(EINVAL, "argument 'device' must be a string");
  return ctx.guest_device(it->get<std::string>());
}

// download {device} streams the whole device to the host.
Result<json> op_download(Context& ctx) {
  std::string path = DK_TRY(device_of(ctx));
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_error(ctx.user_device(path));
  off_t total = ::lseek(fd, 0, SEEK_END);
  ::lseek(fd, 0, SEEK_SET);
  std::vector<std::byte> buf(1 << 20);
  uint64_t done = 0;
  Result<json> out = json{{"bytes", 0}};
  for (;;) {
    if (ctx.cancelled()) {
      out = make_error(ECANCELED, "cancelled");
      break;
    }
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      out = errno_error(ctx.user_device(path));
      break;
    }
    if (n == 0) break;
    if (auto w = ctx.write_download(std::span<const std::byte>(buf.data(), static_cast<size_t>(n))); !w) {
      out = make_error(w.error());
      break;
    }
    done += static_cast<uint64_t>(n);
    if (total > 0 && (done & ((64u << 20) - 1)) == 0) ctx.progress(done, static_cast<uint64_t>(total));
  }
  ::close(fd);
  if (out) (*out)["bytes"] = done;
  return out;
}

// upload {device, offset?} writes the upload stream to the device.
Result<json> op_upload(Context& ctx) {
  std::string path = DK_TRY(device_of(ctx));
  int64_t offset = ctx.args().value("offset", int64_t{0});
  if (offset < 0) return make_error(EINVAL, "offset must be >= 0");
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno_error(ctx.user_device(path));
  std::vector<std::byte> buf(1 << 20);
  uint64_t done = 0;
  Result<json> out = json::object();
  for (;;) {
    auto n = ctx.read_upload(buf);
    if (!n) {
      out = make_error(n.error());
      break;
    }
    if (*n == 0) break;
    if (::pwrite(fd, buf.data(), *n, offset + static_cast<off_t>(done)) != static_cast<ssize_t>(*n)) {
      out = errno_error(ctx.user_device(path));
      break;
    }
    done += *n;
  }
  if (out && ::fsync(fd) < 0) out = errno_error(ctx.user_device(path));
  ::close(fd);
  if (out) (*out)["bytes"] = done;
  return out;
}

// Unmounts every file system under /sysroot, deepest first, so journalled
// file systems (xfs above all: a read-only device cannot replay its log)
// are left clean on the disks. Errors are ignored: shutdown goes on.
void unmount_sysroot() {
  std::vector<std::string> points;
  if (FILE* f = std::fopen("/proc/mounts", "re")) {
    char dev[4096], dir[4096];
    while (std::fscanf(f, "%4095s %4095s %*[^\n]", dev, dir) == 2) {
      std::string d = dir;
      if (d == "/sysroot" || d.rfind("/sysroot/", 0) == 0) points.push_back(d);
    }
    std::fclose(f);
  }
  for (auto it = points.rbegin(); it != points.rend(); ++it) ::umount2(it->c_str(), 0);
}

// shutdown: unmounts and flushes everything and ends the agent after the
// reply; in the guest /init powers the VM off when the agent is gone.
Result<json> op_shutdown(Context&) {
  if (current_devices().in_guest()) unmount_sysroot();
  ::sync();
  request_shutdown();
  return json(nullptr);
}

}  // namespace

DK_AGENT_OP("ping", op_ping);
DK_AGENT_OP("version", op_version);
DK_AGENT_OP("list-devices", op_list_devices);
DK_AGENT_OP("list-partitions", op_list_partitions);
DK_AGENT_OP("exec", op_exec);
DK_AGENT_OP("download", op_download);
DK_AGENT_OP("upload", op_upload);
DK_AGENT_OP("shutdown", op_shutdown);

}  // namespace dk::agent
