// The appliance's recipe: which packages, programs and kernel modules go
// into it, and the files it generates (/init and a few in /etc).
#pragma once

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

namespace dk::appliance {

// Packages whose versions make up the cache key.
inline constexpr const char* kRecipePackages[] = {
    "busybox-static", "e2fsprogs", "xfsprogs", "btrfs-progs", "dosfstools", "exfatprogs", "ntfs-3g",
    "lvm2",           "dmsetup",   "cryptsetup-bin", "gdisk", "fdisk",      "parted",     "mdadm",
    "util-linux",     "mount",     "zerofree", "libc6",
};

// Programs copied with their libraries (looked up in /usr/sbin, /usr/bin).
inline constexpr const char* kRecipePrograms[] = {
    "mke2fs", "mkfs.ext2", "mkfs.ext3", "mkfs.ext4", "e2fsck", "fsck.ext2", "fsck.ext3", "fsck.ext4",
    "resize2fs", "tune2fs", "dumpe2fs", "e2label", "zerofree", "mkfs.xfs", "xfs_repair", "xfs_growfs",
    "xfs_admin", "xfs_db", "xfs_info", "xfs_io", "xfs_spaceman", "mkfs.btrfs", "btrfs", "btrfstune",
    "fsck.btrfs", "mkfs.vfat", "mkfs.fat", "fsck.vfat", "fsck.fat", "fatlabel", "mkfs.exfat",
    "fsck.exfat", "exfatlabel", "tune.exfat", "ntfs-3g", "mount.ntfs-3g", "mount.ntfs", "mkntfs",
    "mkfs.ntfs", "ntfsresize", "ntfsfix", "ntfslabel", "lvm", "dmsetup", "cryptsetup", "sfdisk",
    "sgdisk", "gdisk", "parted", "partprobe", "mdadm", "blkid", "wipefs", "mkswap", "swaplabel",
    "fstrim", "blockdev", "findmnt", "lsblk", "mount", "umount", "fsck", "fsfreeze",
};

// Kernel modules (dependencies are added from modules.dep).
inline constexpr const char* kRecipeModules[] = {
    "virtio_pci", "virtio_mmio", "virtio_blk", "virtio_console", "crc32c_generic", "ext4", "vfat",
    "nls_cp437", "nls_ascii", "nls_utf8", "nls_iso8859_1", "xfs", "btrfs", "exfat", "fuse", "isofs",
    "loop", "dm_mod", "dm_crypt", "dm_thin_pool", "dm_snapshot", "dm_mirror", "dm_raid", "md_mod", "raid0",
    "raid1", "raid10", "raid456", "linear", "xts", "aes_generic", "cbc", "essiv", "sha256_generic",
    "sha512_generic", "algif_skcipher", "algif_hash", "af_alg", "crc32_generic",
};

// Generated files: (path, content, mode). /init, and /etc/lvm/lvm.conf
// telling LVM there is no udev (it makes its own /dev nodes).
std::vector<std::tuple<std::string, std::string, uint32_t>> recipe_files();

// The kernel command line /init expects (the host adds to it).
// init_on_free=1: freed pages are zeroed, which a saved state skips (the
// boot-time copy of the initramfs is freed after unpacking): 125 MB of
// state instead of 171 MB.
inline constexpr const char* kKernelCmdline =
    "console=ttyS0 quiet loglevel=3 panic=-1 reboot=t no_timer_check noreplace-smp tsc=reliable "
    "cryptomgr.notests rcupdate.rcu_expedited=1 i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd "
    "random.trust_cpu=on 8250.nr_uarts=1 init_on_free=1";

}  // namespace dk::appliance
