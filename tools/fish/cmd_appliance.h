// The appliance in diskit fish: the commands that need a Linux kernel
// (mkfs, part-*, LVM, resize2fs, fsck, cryptsetup...) run in the appliance
// VM, started by the first such command (or by `run` with --appliance) and
// kept for the rest of the session.
//
// The images rule: an image is never open for writing by the shell and the
// appliance at once. Starting the appliance flushes and closes the shell's
// disks (unmounting its native mounts), attaches the images to the
// appliance (read-only with --ro), then reopens them in the shell
// read-only and shared, so the native commands (list-partitions, part-list,
// vfs-type...) still read them, and remounts what was mounted, now through
// the appliance. After every command that changes the disks the guest
// flushes and the shell reopens its read-only view, so it sees the change.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "formats/core/error.h"
#include "fs/disk.h"
#include "fs/probe.h"
#include "tools/fish/table.h"

namespace dk::tools::fish {

class Shell;

enum class AppliancePolicy : uint8_t {
  Auto,    // started when a command needs it (the default)
  Always,  // --appliance: started by run/launch
  Never,   // --no-appliance: commands that need it fail
};

void set_appliance_policy(AppliancePolicy p);
AppliancePolicy appliance_policy();
// -v: the appliance's console goes to stderr.
void set_appliance_verbose(bool on);
// Whether the appliance runs (for this process).
bool appliance_running();

// Starts the appliance for command `why` unless it runs (a one-line notice
// on stderr first). Refused under --no-appliance.
Result<void> ensure_appliance(Shell& sh, std::string_view why);

// Runs agent op `op` for fish command `cmd`. `changes_disks`: the op
// writes the disks, so the shell's view is refreshed after it.
Result<nlohmann::json> appliance_call(Shell& sh, std::string_view cmd, const std::string& op,
                                      const nlohmann::json& args, bool changes_disks);

// Before inspection in the shell: starts the appliance when the disks
// hold an LVM physical volume (unless --no-appliance) and lets inspection
// list its LVs.
Result<void> prepare_inspection(Shell& sh);

// Type, label and UUID of a device only the running appliance sees (an
// LV, a /dev/mapper device), probed by the host's prober on its head.
Result<fs::ProbeResult> appliance_probe(const std::string& device);

// While a command runs and the appliance is up: ^C cancels the appliance
// request in progress (file reads and writes on xfs, btrfs, LVs... go
// through it); with none in progress ^C does what it did before.
class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

 private:
  bool m_installed = false;
};

// Stops the appliance (after the shell has closed its mounts).
Result<void> shutdown_appliance();

// LUKS keys: --key DEVICE:key:PASS (repeatable) and --keys-from-stdin.
void add_fish_key(const std::string& device, const std::string& key);
std::optional<std::string> fish_key_for(const std::string& device);
void set_fish_keys_from_stdin(bool on);
bool fish_keys_from_stdin();

// For the one-shot tools (diskit ls, cat, df, filesystems ... reading
// only): registers a mounter that starts the appliance, with `disks`
// attached read-only, the first time a file system the native code cannot
// read (xfs, btrfs, ntfs, exfat) or a device the disks do not name
// (/dev/VG/LV) is mounted read-only; it stops when the program exits.
// Writable mounts are left to the native code (the tool holds the images'
// write lock).
void install_tool_mounter(const std::vector<fs::DiskSpec>& disks);

// For the one-shot tools: runs agent op `op`, starting the appliance
// (disks read-only, notice "starting the appliance <why>") if needed.
Result<nlohmann::json> tool_appliance_call(const std::string& why, const std::string& op, const nlohmann::json& args);

// The appliance commands (registered by add_device_commands).
void add_appliance_commands(CommandTable& t);
void add_appliance_lvm_commands(CommandTable& t);

}  // namespace dk::tools::fish
