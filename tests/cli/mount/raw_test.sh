#!/bin/bash
# diskit mount --raw: sda reads like `qemu-img convert -O raw`, e2fsck runs
# on sda1, a write through sda lands in the qcow2 and qemu-img check stays clean.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$DK_TESTLIB"
source "$HERE/fuse_lib.sh"
require_qemu; require mkfs.ext4; require e2fsck; require sfdisk

truncate -s 40M disk.raw
printf 'label: dos\nstart=2048, size=40960, type=83\n' | sfdisk -q disk.raw
mkdir -p src/d; echo hi > src/d/f
mkfs.ext4 -q -F -d src p1.raw 20M
dd if=p1.raw of=disk.raw bs=512 seek=2048 conv=notrunc status=none
qemu-img convert -O qcow2 disk.raw d.qcow2
qemu-img convert -O raw d.qcow2 ref.raw

dk_mount r -a d.qcow2 --raw --ro
[ "$(ls r | tr '\n' ' ')" = "sda sda1 " ] || fail "raw files: $(ls r)"
[ "$(stat -c %s r/sda1)" = $((40960 * 512)) ] || fail "sda1 size"
cmp r/sda ref.raw || fail "sda differs from qemu-img convert -O raw"
e2fsck -fn r/sda1 >fsck.out 2>&1 || { cat fsck.out >&2; fail "e2fsck on sda1"; }
expect_status 1 dd if=/dev/zero of=r/sda bs=512 count=1 conv=notrunc status=none 2>/dev/null
"$DISKIT" umount r

dk_mount w -a d.qcow2 --raw
printf 'XYZ' | dd of=w/sda bs=1 seek=$((30 * 1048576)) conv=notrunc,fsync status=none
cat w/sda >/dev/null & cat w/sda1 >/dev/null & wait
"$DISKIT" umount w
qemu-io -c "read -P 0x58 $((30 * 1048576)) 1" -c "read -P 0x5a $((30 * 1048576 + 2)) 1" d.qcow2 >qio.out 2>&1
grep -q 'Pattern verification failed' qio.out && fail "write through sda did not land: $(cat qio.out)"
[ "$(grep -c 'read 1/1' qio.out)" = 2 ] || fail "qemu-io: $(cat qio.out)"
check_clean d.qcow2
echo OK
