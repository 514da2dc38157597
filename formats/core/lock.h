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

// QEMU's permission bits (BLK_PERM_*), for drivers that need QEMU's exact
// per-format lock set (raw shares everything, like QEMU's raw driver).
enum LockPerm : unsigned {
  kPermConsistentRead = 1u << 0,
  kPermWrite = 1u << 1,
  kPermWriteUnchanged = 1u << 2,
  kPermResize = 1u << 3,
  kPermAll = 0xfu,
};

// Holds byte 100+i for each bit i in `perm` and byte 200+i for each bit not in
// `shared`, then fails (EAGAIN, "image is in use") when another open file
// description unshares a bit we hold or holds a bit we do not share. The
// locks live as long as f's file description. File systems without OFD lock
// support are not locked (QEMU's locking=auto).
Result<void> lock_image_perms(const File& f, unsigned perm, unsigned shared);

// Opens (creating it if needed) an image file for an image creator, takes
// QEMU's creation locks (write + resize used, resize not shared) and only
// then empties it, so a file another process holds is left untouched (EAGAIN).
Result<File> create_image_file(const std::string& path);

}  // namespace dk
