// Replaying an ext3/4 (jbd2) internal journal into an overlay for reading
// (internal). libext2fs has no replay code outside e2fsck and debugfs, so
// this is a small reader of the jbd2 log format: descriptor, commit and
// revoke blocks; only committed transactions are replayed, revoked blocks
// are skipped as jbd2 does, checksums are not verified.
#pragma once

#include <ext2fs/ext2fs.h>

#include <cstdint>

#include "formats/core/error.h"
#include "formats/layer.h"

namespace dk::fs::ext {

// Reads the journal of `fs` (opened read-only on `out`'s contents) and
// writes every block the committed transactions hold to `out` at its home
// location. Returns the number of blocks written. EIO/EINVAL with a message
// for a journal that cannot be read (external journal: ENOTSUP).
Result<uint64_t> replay_journal(ext2_filsys fs, fmt::Layer& out);

}  // namespace dk::fs::ext
