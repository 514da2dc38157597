// Library side of `diskit commit`: write the data of an overlay (and of the
// layers between it and BASE) down into BASE, then empty the overlay.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "formats/chain.h"
#include "formats/core/error.h"
#include "formats/layer.h"

namespace dk::fmt::maint {

// An open chain ready for a commit: `top` (writable) owns the chain; `base`
// points into it and is the only other layer opened writable.
struct CommitChain {
  std::unique_ptr<Layer> top;
  Layer* base = nullptr;
};

// Opens `path` writable with its backing chain read-only (opts.open must ask
// for a writable image), finds BASE and reopens it (and the chain below it)
// with BASE writable, as qemu-img does. Without `base_name` BASE is the
// immediate backing file; with it, the layer whose file is `base_name`
// (relative names are relative to the overlay naming it, compared by real
// path, like QEMU's bdrv_find_backing_image). Errors use qemu-img's words:
// "Image does not have a backing file", "Did not find 'B' in the backing
// chain of 'F'", "Could not open 'BASE': <reason>". A failure opening `path`
// itself comes back unwrapped (the caller adds "Could not open 'F': ").
Result<CommitChain> open_commit_chain(const std::string& path, const ChainOptions& opts,
                                      const std::optional<std::string>& base_name);

// Copies into `base` every range allocated in a layer of `top`'s chain above
// `base` — data as data, zero ranges as write_zeroes — reading through `top`
// so the topmost layer wins. Grows `base` first when `top` is larger (and
// keeps a longer file below `base` from showing through the new area), as
// QEMU's active commit does. Ends with base.flush(): on return the data is
// stable in `base`, so the layers above may be emptied. `progress` (may be
// empty) receives the fraction done, 0..1.
Result<void> commit_into_base(Layer& top, Layer& base, const std::function<void(double)>& progress);

// The whole commit after open_commit_chain: commit_into_base, then, unless
// `drop`, top.make_empty() (ENOTSUP ignored, like qemu-img) and top.flush().
Result<void> commit(CommitChain& chain, bool drop, const std::function<void(double)>& progress);

}  // namespace dk::fmt::maint
