// The guest agent's operation interface. Each op is a function registered
// by name (DK_AGENT_OP) that reads its JSON arguments from the Context and
// returns a JSON result or an Error (errno + one-line message), which the
// agent sends back to the host.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "formats/core/error.h"

namespace dk::agent {

// One request being served.
class Context {
 public:
  virtual ~Context() = default;
  virtual const nlohmann::json& args() const = 0;
  // The guest's name of a device the user names ("/dev/sda1" -> "/dev/vda1");
  // ENOENT for a name that is not an attached disk or one of its partitions.
  virtual Result<std::string> guest_device(std::string_view user_name) = 0;
  // The user's name of a guest device ("/dev/vda1" -> "/dev/sda1"); the
  // name itself when it has no other (LVs: /dev/VG/LV).
  virtual std::string user_device(std::string_view guest_name) = 0;
  // Reports progress of a long job to the host.
  virtual void progress(uint64_t done, uint64_t total) = 0;
  // True once the host asked to cancel this request.
  virtual bool cancelled() const = 0;
  // Reads the request's upload stream (data sent by the host); 0 at its end.
  virtual Result<size_t> read_upload(std::span<std::byte> buf) = 0;
  // Appends to the request's download stream (data sent to the host).
  virtual Result<void> write_download(std::span<const std::byte> data) = 0;
};

struct CommandResult {
  int status = 0;  // exit status, or 128 + signal
  std::string out, err;
};

// Runs argv (no shell) with `stdin_data` on its standard input and collects
// its output. Failing to start is an error; a non-zero status is not.
// With `cancelled`, polled every 100 ms: once it says true the command's
// process group gets SIGTERM (SIGKILL 2 s later) and the result is
// ECANCELED.
Result<CommandResult> run_command(const std::vector<std::string>& argv, const std::string& stdin_data = {},
                                  const std::function<bool()>& cancelled = {});

using OpFn = Result<nlohmann::json> (*)(Context& ctx);

// Registers an op; names are unique (a duplicate aborts at start-up).
void register_op(const char* name, OpFn fn);
// The op registered under `name`, or nullptr.
OpFn find_op(std::string_view name);

namespace detail {
struct OpRegistrar {
  OpRegistrar(const char* name, OpFn fn) { register_op(name, fn); }
};
}  // namespace detail

#define DK_AGENT_OP_CAT2(a, b) a##b
#define DK_AGENT_OP_CAT(a, b) DK_AGENT_OP_CAT2(a, b)
// DK_AGENT_OP("mkfs", op_mkfs); at namespace scope in an ops/*.cc file.
#define DK_AGENT_OP(name, fn) \
  static ::dk::agent::detail::OpRegistrar DK_AGENT_OP_CAT(dk_agent_op_, __LINE__)(name, fn)

}  // namespace dk::agent
