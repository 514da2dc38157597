#include "fs/mount.h"

#include "fs/ext/ext.h"
#include "fs/fat/fat.h"
#include "fs/iso9660/iso9660.h"

namespace dk::fs {

namespace {
FallbackMounter& fallback_slot() {
  static FallbackMounter m;
  return m;
}
}  // namespace

FallbackMounter set_fallback_mounter(FallbackMounter m) {
  FallbackMounter old = std::move(fallback_slot());
  fallback_slot() = std::move(m);
  return old;
}

const FallbackMounter& fallback_mounter() { return fallback_slot(); }

namespace {
ExtraDeviceLister& lister_slot() {
  static ExtraDeviceLister l;
  return l;
}
}  // namespace

ExtraDeviceLister set_extra_device_lister(ExtraDeviceLister l) {
  ExtraDeviceLister old = std::move(lister_slot());
  lister_slot() = std::move(l);
  return old;
}

bool has_lvm_member(Guest& guest) {
  for (const BlockDevice& d : guest.filesystem_candidates()) {
    auto layer = guest.open_device(d);
    if (!layer) continue;
    auto p = probe_filesystem(**layer);
    if (p && p->type == "LVM2_member") return true;
  }
  return false;
}

Result<std::vector<ExtraDevice>> extra_devices(Guest& guest, bool has_lvm_member) {
  if (!lister_slot() || !has_lvm_member) return std::vector<ExtraDevice>{};
  return lister_slot()(guest);
}

bool can_open(const std::string& type) {
  return type == "ext2" || type == "ext3" || type == "ext4" || type == "vfat" || type == "iso9660";
}

bool can_mount(const std::string& type) {
  if (can_open(type)) return true;
  return fallback_mounter() && !type.empty() && type != "unknown" && type != "swap" && type != "LVM2_member" &&
         type != "linux_raid_member" && type != "crypto_LUKS";
}

Result<std::unique_ptr<FileSystem>> open_filesystem(Guest& guest, const BlockDevice& dev,
                                                    const MountOptions& opts) {
  auto layer = DK_TRY(guest.open_device(dev));
  ProbeResult p = DK_TRY_CTX(probe_filesystem(*layer), "'" + dev.name + "'");
  if (!p.found()) return make_error(EINVAL, "'" + dev.name + "': no file system found");
  if (const FallbackMounter& fb = fallback_mounter()) {
    // The registered mounter goes first; ENOTSUP means "not mine".
    auto r = fb(guest, dev.name, p.type, opts);
    if (r || r.error().code != ENOTSUP) return r;
  }
  if (p.type == "ext2" || p.type == "ext3" || p.type == "ext4") {
    ExtOpenOptions eo;
    eo.writable = opts.writable;
    eo.warn = opts.warn;
    eo.device_name = dev.name;
    return open_ext(std::move(layer), eo);
  }
  if (p.type == "vfat") return open_fat(std::move(layer), {opts.writable, opts.warn, dev.name});
  if (p.type == "iso9660")  // always read-only, like Linux on write-protected media
    return open_iso9660(std::move(layer), IsoOpenOptions{dev.name});
  return make_error(ENOTSUP, "'" + dev.name + "': " + p.type +
                                 " file systems can be detected but not read yet");
}

}  // namespace dk::fs
