// The appliance seen from the host: a small Linux VM (appliance/image)
// booted through appliance/vmm with the user's disks attached as /dev/sda...,
// and the agent inside it answering requests (appliance/proto).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "formats/core/error.h"

namespace dk::appliance {

struct DriveSpec {
  std::string image;
  std::string format;  // empty: probed
  bool read_only = false;
};

struct LaunchOptions {
  std::vector<DriveSpec> drives;
  bool verbose = false;            // the guest's console on stderr
  std::vector<std::string> keys;   // LUKS keys, "ID:key:PASS" as --key
};

struct LaunchReport {
  std::string how;      // "booted" or "restored" (from the saved state)
  double seconds = 0;   // from launch() to the agent ready with the disks
};

// Asks the appliance to cancel the request in progress (from any thread or
// a signal handler: it only sets flags). The waiting call sends the agent
// a cancel message; the op stops where it can (a running tool gets
// SIGTERM, a transfer ends) and the call fails with ECANCELED; later calls
// fail with ECANCELED at once until reset_cancel() (so a transfer made of
// many requests stops). False, and no effect, when no request was made
// since reset_cancel().
bool request_cancel();
// Forgets a cancel (the caller starts a new command).
void reset_cancel();

class Appliance {
 public:
  virtual ~Appliance();
  // The saved state of the current image (diskit appliance info): its path,
  // and whether it exists. Builds nothing.
  static Result<std::pair<std::string, bool>> saved_state();
  virtual LaunchReport report() const = 0;
  // Builds the appliance image if it is missing or stale, boots it with the
  // drives and waits until the agent answers.
  static Result<std::unique_ptr<Appliance>> launch(const LaunchOptions& o);
  // One request; errors read "op: message" with the guest's errno.
  virtual Result<nlohmann::json> call(std::string_view op, const nlohmann::json& args) = 0;
  // A request whose upload stream is pulled from `source` (0 = end).
  virtual Result<nlohmann::json> call_upload(std::string_view op, const nlohmann::json& args,
                                             std::function<Result<size_t>(std::span<std::byte>)> source) = 0;
  // A request whose download stream is pushed to `sink`.
  virtual Result<nlohmann::json> call_download(std::string_view op, const nlohmann::json& args,
                                               std::function<Result<void>(std::span<const std::byte>)> sink) = 0;
  // Syncs in the guest, powers it off and waits; the destructor does it too.
  virtual Result<void> shutdown() = 0;
};

}  // namespace dk::appliance
