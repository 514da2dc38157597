// OFD byte-range locks compatible with QEMU's file-posix locking, so diskit
// and QEMU processes see each other's locks.
//
// QEMU locks byte 100+i of the image file for each permission bit i it holds
// and byte 200+i for each permission it does not share with others
// (bits: 0 consistent-read, 1 write, 2 write-unchanged, 3 resize). All locks
// are shared (F_RDLCK) OFD locks; a conflict is found by testing for another
// open file description holding the opposite byte.
#pragma once

#include "formats/core/error.h"
#include "formats/core/file.h"

namespace dk {

enum class LockMode {
  kRead,   // consistent read; others may read but not write
  kWrite,  // read + write + resize; others may read but not write or resize
};

// Takes QEMU-compatible locks on f. force_share (-U) shares everything and
// skips the conflict check for reads; it is refused for kWrite (EINVAL).
// Fails with EAGAIN and a message "image is in use" when another process
// holds a conflicting lock.
Result<void> lock_image(const File& f, LockMode mode, bool force_share);

}  // namespace dk
