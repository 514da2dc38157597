// `qemu-img check` for VMDK, as QEMU 7.2's vmdk_co_check(): walks the disk
// one grain (a whole extent for flat ones) at a time and stops at the first
// grain whose table entry cannot be read or whose data lies past the end of
// its extent file. QEMU then counts one corruption and fails the check;
// repairing (-r) is not supported.
#include <cerrno>
#include <cstdio>

#include "formats/vmdk/extent.h"
#include "formats/vmdk/vmdk.h"

namespace dk::fmt::vmdk {

Result<CheckReport> VmdkLayer::check(CheckFix fix) {
  if (fix) return make_error(ENOTSUP, "This image format does not support checks");
  CheckReport r;
  char buf[160];
  uint64_t off = 0;
  while (off < m_size) {
    auto [ext, start] = find(off);
    const long long sector = static_cast<long long>(off / 512);
    if (!ext) {
      std::snprintf(buf, sizeof buf, "ERROR: could not find extent for sector %lld", sector);
      r.messages.push_back(buf);
      r.failed = EINVAL;
      break;
    }
    const uint64_t rel = off - start;
    const uint64_t step = ext->grain_bytes().value_or(ext->length() - rel);
    auto st = ext->block_status(rel, std::min<uint64_t>(step, ext->length() - rel));
    if (!st) {
      // diskit's sparse reader refuses a grain past the end of the file;
      // QEMU finds it by comparing the offset.
      if (st.error().message.find("beyond the end of the file") != std::string::npos) {
        std::snprintf(buf, sizeof buf, "ERROR: cluster offset for sector %lld points after EOF", sector);
        r.failed = EINVAL;
      } else {
        std::snprintf(buf, sizeof buf, "ERROR: could not get cluster_offset for sector %lld", sector);
        r.failed = EPERM;  // QEMU returns VMDK_ERROR (-1) as the errno
      }
      r.messages.push_back(buf);
      break;
    }
    if (st->offset_valid()) {
      auto len = ext->file().size();
      const uint64_t host = st->offset - (ext->grain_bytes() ? rel % step : rel);
      if (!len) {
        std::snprintf(buf, sizeof buf, "ERROR: could not get extent file length for sector %lld", sector);
        r.messages.push_back(buf);
        r.failed = len.error().code;
        break;
      }
      if (host >= *len) {
        std::snprintf(buf, sizeof buf, "ERROR: cluster offset for sector %lld points after EOF", sector);
        r.messages.push_back(buf);
        r.failed = EINVAL;
        break;
      }
    }
    off += step;
  }
  if (r.failed) ++r.corruptions;
  return r;
}

}  // namespace dk::fmt::vmdk
