// The state of one `diskit fish` session: the disks (opened by run/launch),
// the mounted file systems, and how errors are reported. Commands reach the
// guest only through this class, so the read-only rules live in one place:
// with --ro (or a disk that could only be opened read-only) every command
// marked `writes` is refused before it touches anything, and every mount is
// read-only.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fs/disk.h"
#include "fs/mount.h"
#include "tools/fish/table.h"
#include "tools/fish/tokenize.h"

namespace dk::tools::fish {

struct ShellOptions {
  std::vector<fs::DiskSpec> disks;
  bool read_only = false;  // --ro
  bool trace = false;      // -x: echo each command on stderr before running it
};

class Shell {
 public:
  explicit Shell(ShellOptions o);
  ~Shell();

  // ---- Running commands ----
  // Runs one command with its raw arguments (optional arguments still as
  // name:value). Errors are printed on stderr; returns 0 or -1.
  int execute(const std::string& name, std::vector<std::string> args);
  // Runs one parsed line (command, '!' shell line, "<!" inline, "| pipe").
  // Returns 0 or -1 (error already printed).
  int run_parsed(const ParsedLine& p, bool exit_on_error);
  // Parses and runs a line; `exit_on_error` is the mode's default, and a
  // leading '-' turns it off for this line. Returns false when the shell
  // must exit with status 1 (an error in exit-on-error mode).
  bool run_line(const std::string& line, bool exit_on_error);

  // Where input comes from, for error messages: "*stdin*", a -f file; and
  // whether messages carry "file:line:" (script mode) or not (interactive).
  void set_input(std::string name, bool interactive);
  void next_line() { ++m_lineno; }
  bool interactive() const { return m_interactive; }
  // Prints "file:line: diskit: error: CMD: MSG" (script) or
  // "diskit: error: CMD: MSG" (interactive) on stderr.
  void report_error(std::string_view cmd, std::string_view msg) const;

  bool quit_requested() const { return m_quit; }
  void request_quit() { m_quit = true; }
  size_t commands_run() const { return m_command_num; }

  // ---- The guest ----
  bool launched() const { return m_guest != nullptr; }
  // Opens the disks (read-write unless --ro; a disk that cannot be opened
  // for writing because of its permissions falls back to read-only with a
  // warning). EBUSY-class errors (the image lock) are returned as they are.
  Result<void> launch();
  bool read_only() const;
  const ShellOptions& options() const { return m_opts; }
  fs::Guest& guest() { return *m_guest; }
  fs::GuestMounts& mounts() { return *m_mounts; }

  struct MountRecord {
    std::string device;
    std::string mountpoint;
    std::string options;
    bool writable = false;
  };
  const std::vector<MountRecord>& mount_records() const { return m_records; }
  // Mounts `device` at `mountpoint`; writable unless read_only (the shell's
  // or the caller's). A device mounted twice is refused (two writers of one
  // file system would corrupt it).
  Result<void> mount(std::string_view device, std::string_view mountpoint, bool ro, std::string options);
  // Unmounts the file system mounted at a path or from a device (flushed
  // first). EBUSY when other mounts sit below it.
  Result<void> umount(std::string_view target);
  Result<void> umount_all();
  // Flushes every writable file system and disk.
  Result<void> sync();
  // Flushes and closes everything (the shell's exit).
  Result<void> shutdown();

  // ---- Handing the images to the appliance (tools/fish/cmd_appliance.cc) ----
  // The rule: an image is never open for writing by both the shell and
  // the appliance. close_disks() flushes and unmounts every file system
  // and closes the disks, returning the mount records; reopen_disks()
  // opens them again (shared and read-only when `shared_ro`: the
  // appliance owns writing from then on) and mounts the records again.
  // read_only() keeps answering for --ro, not for shared_ro.
  Result<std::vector<MountRecord>> close_disks();
  Result<void> reopen_disks(bool shared_ro, std::vector<MountRecord> records);
  // Called by mount() before it opens a device: the appliance session
  // starts the appliance there when the device needs it (xfs, an LV...).
  // It may close and reopen the disks; mount() looks the device up after.
  using MountHook = std::function<Result<void>(Shell&, const std::string& device)>;
  static void set_mount_hook(MountHook hook);

  // ---- Paths in the mounted tree ----
  Result<fs::Mounts::Resolved> resolve(std::string_view path, bool follow = true) const;
  // The directory holding `path` (resolved, links followed) and the last
  // component. EINVAL for "/" or a path ending in "..".
  Result<std::pair<fs::Mounts::Resolved, std::string>> resolve_parent(std::string_view path) const;

  // Inspection results kept between inspect-os and inspect-get-* calls.
  struct InspectState;
  InspectState* inspect_state() { return m_inspect.get(); }
  void set_inspect_state(std::unique_ptr<InspectState> s);

 private:
  Result<void> check_call(const FishCommand& c, const std::vector<std::string>& raw, Call& call) const;
  Result<void> remount(std::vector<MountRecord> records);

  ShellOptions m_opts;
  std::unique_ptr<fs::Guest> m_guest;
  std::unique_ptr<fs::GuestMounts> m_mounts;
  std::vector<MountRecord> m_records;
  std::unique_ptr<InspectState> m_inspect;
  bool m_fell_back_read_only = false;
  bool m_quit = false;
  bool m_interactive = false;
  std::string m_input = "*stdin*";
  size_t m_lineno = 0;
  size_t m_command_num = 0;
};

}  // namespace dk::tools::fish
