#!/bin/bash
# Several file systems as one tree: -i (root plus what /etc/fstab names)
# and explicit -m / and /boot; crossing between them is EXDEV, the
# mountpoint directory is busy.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$DK_TESTLIB"
source "$HERE/fuse_lib.sh"
require_qemu; require mkfs.ext4; require sfdisk

mkdir -p tree/etc tree/usr/bin tree/boot boot/grub
printf '/dev/sda1 / ext4 defaults 0 1\n/dev/sda2 /boot ext4 defaults 0 2\n' > tree/etc/fstab
echo host > tree/etc/hosts
ln -s usr/bin tree/bin
echo cfg > boot/grub/grub.cfg
truncate -s 40M disk.raw
printf 'label: dos\n,16M,L\n,,L\n' | sfdisk -q disk.raw
mkfs.ext4 -q -F -d tree p1.img 16M
mkfs.ext4 -q -F -d boot p2.img 8M
dd if=p1.img of=disk.raw bs=1M seek=1 conv=notrunc status=none
dd if=p2.img of=disk.raw bs=512 seek=34816 conv=notrunc status=none
qemu-img convert -O qcow2 disk.raw g.qcow2

dk_mount i -a g.qcow2 -i --ro
[ "$(cat i/boot/grub/grub.cfg)" = cfg ] || fail "-i: /boot not mounted"
[ "$(cat i/etc/hosts)" = host ] || fail "-i: / not mounted"
"$DISKIT" umount i

dk_mount m -a g.qcow2 -m /dev/sda1 -m /dev/sda2:/boot
[ "$(cat m/boot/grub/grub.cfg)" = cfg ] || fail "-m: /boot not mounted"
expect_status 1 rmdir m/boot 2>err; grep -q busy err || fail "rmdir of a mountpoint: $(cat err)"
python3 -c 'import os,errno,sys
try: os.rename("m/etc/hosts", "m/boot/hosts")
except OSError as e: sys.exit(0 if e.errno == errno.EXDEV else 1)
sys.exit(1)' || fail "rename across file systems is not EXDEV"
echo new > m/boot/new
"$DISKIT" umount m
[ "$("$DISKIT" cat -a g.qcow2 -m /dev/sda2 /new)" = new ] || fail "write to /boot lost"
echo OK
