// Saved appliance states: the appliance is booted once, its state saved
// (QEMU migration to a file) in the image cache, and later launches restore
// it and hot-plug the disks instead of booting, which takes a fraction of a
// second against a boot's many seconds under TCG.
//
// A state restores only into the same machine: the same QEMU binary, the
// same kernel, initramfs and kernel command line, the same memory, CPUs,
// accelerator, machine type and device list. Its file name carries a hash
// of all of those, so a change of any makes a new state and the old one is
// removed.
#pragma once

#include <string>

#include "appliance/vmm/vm.h"

namespace dk::appliance {

// The state file for `cfg` (drives, sockets and log paths do not count) in
// `dir`, with `image_key` the text that identifies the image's contents.
std::string saved_state_path(const std::string& dir, const vmm::VmConfig& cfg, const std::string& image_key);

// Removes state files in `dir` other than `keep`, and stray temporary files.
void remove_stale_states(const std::string& dir, const std::string& keep);

// True unless $DISKIT_APPLIANCE_SAVE is "0" (always boot).
bool saved_states_enabled();

}  // namespace dk::appliance
