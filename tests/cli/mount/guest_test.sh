#!/bin/bash
# diskit mount of an ext4 guest (mkfs.ext4 -d from a tree, in qcow2): a
# read-only mount shows exactly the tree; writes through a read-write mount
# are clean for e2fsck and visible with debugfs after diskit umount; the
# image stays locked while mounted and is free when umount returns.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$DK_TESTLIB"
source "$HERE/fuse_lib.sh"
require_qemu; require mkfs.ext4; require e2fsck; require debugfs

mkdir -p src/etc src/usr/bin "src/home/user/my docs" src/empty src/deep/a/b/c
echo "root:x:0:0::/root:/bin/bash" > src/etc/passwd
ln -s usr/bin src/bin
ln -s /etc/passwd src/home/user/abs
ln -s ../../etc/passwd src/home/user/rel
head -c 300000 /dev/urandom > src/usr/bin/prog; chmod 4755 src/usr/bin/prog
echo "hello" > "src/home/user/my docs/a file.txt"; chmod 0600 "src/home/user/my docs/a file.txt"
chmod 0700 src/deep/a/b; chmod 1777 src/empty
echo leaf > src/deep/a/b/c/leaf
head -c 30M /dev/urandom > src/big
mkfs.ext4 -q -F -d src fs.raw 64M
qemu-img convert -O qcow2 fs.raw g.qcow2
listing() { (cd "$1" && find . -path ./lost+found -prune -o \( -type d -printf 'd %m %U %G %p\n' \) \
  -o \( ! -type d -printf '%y %m %U %G %s %p %l\n' \) | sort); }

# Usage: -m or -i is required, like guestmount.
expect_status 1 "$DISKIT" mount -a g.qcow2 mnt 2>err
grep -q 'must have at least one -a and at least one -m/-i option' err || fail "usage error: $(cat err)"

# Read-only: the tree, exactly.
dk_mount ro -a g.qcow2 -m /dev/sda --ro
diff -r --no-dereference src ro -x lost+found || fail "read-only mount differs from the source tree"
listing src > want; listing ro > got; same_file want got "mode/symlink listing"
# Two readers at once.
cat ro/big > c1 & cat ro/big > c2 & wait
cmp c1 src/big && cmp c2 src/big || fail "concurrent readers got different bytes"
expect_status 1 touch ro/new 2>/dev/null
# A writer is refused while mounted.
expect_status 1 qemu-io -c 'write 0 512' g.qcow2 2>/dev/null
"$DISKIT" umount ro
mountpoint -q ro && fail "ro is still mounted"

# Read-write: mkdir, create/write, rename, unlink, symlink, chmod.
dk_mount rw -a g.qcow2 -m /dev/sda
expect_status 1 "$DISKIT" mount -a g.qcow2 -m /dev/sda rw2 2>err   # second rw mount: locked
grep -q 'in use' err || fail "second mount: $(cat err)"
mkdir -p rw/newdir/sub
head -c 5000000 /dev/urandom > data; cp data rw/newdir/sub/data
mv rw/etc/passwd rw/etc/passwd.moved
rm rw/big
ln -s ../etc/passwd.moved rw/newdir/link
chmod 0640 rw/newdir/sub/data
rmdir rw/empty
expect_status 1 rmdir rw/deep 2>/dev/null   # ENOTEMPTY
cmp data rw/newdir/sub/data || fail "read back after write differs"
"$DISKIT" umount rw
# umount returned: the image is closed and free.
qemu-io -c 'read 0 512' g.qcow2 >/dev/null || fail "image still locked after umount"
check_clean g.qcow2
qemu-img convert -O raw g.qcow2 after.raw
e2fsck -fn after.raw >fsck.out 2>&1 || { cat fsck.out >&2; fail "e2fsck after writes"; }
debugfs -R 'dump /newdir/sub/data got.data' after.raw 2>/dev/null; cmp data got.data || fail "debugfs: data"
debugfs -R 'stat /newdir/sub/data' after.raw 2>/dev/null | grep -q 'Mode:  0640' || fail "debugfs: chmod"
debugfs -R 'stat /newdir/link' after.raw 2>/dev/null | grep -q 'Fast link dest: "../etc/passwd.moved"' || fail "debugfs: symlink"
debugfs -R 'ls /' after.raw 2>/dev/null | grep -qw big && fail "debugfs: big not removed"
debugfs -R 'ls /' after.raw 2>/dev/null | grep -qw empty && fail "debugfs: empty not removed"
debugfs -R 'ls /etc' after.raw 2>/dev/null | grep -qw passwd.moved || fail "debugfs: rename"

# fusermount3 -u alone also leaves a consistent image (flushed at destroy).
dk_mount rw -a g.qcow2 -m /dev/sda
echo later > rw/later
fusermount3 -u rw
for i in $(seq 100); do qemu-io -c 'read 0 1' g.qcow2 >/dev/null 2>&1 && break; sleep 0.1; done
check_clean g.qcow2
qemu-img convert -O raw g.qcow2 after2.raw
e2fsck -fn after2.raw >fsck.out 2>&1 || { cat fsck.out >&2; fail "e2fsck after fusermount3 -u"; }
debugfs -R 'cat /later' after2.raw 2>/dev/null | grep -q later || fail "write lost with fusermount3 -u"

# A mount is refused while qemu-io holds the image.
mkfifo ctl
qemu-io g.qcow2 <ctl >/dev/null 2>&1 & QPID=$!
exec 3>ctl
wait_locked g.qcow2
expect_clean_error "$DISKIT" mount -a g.qcow2 -m /dev/sda --ro ro
exec 3>&-; wait $QPID || true

# Not a diskit mount.
expect_status 3 "$DISKIT" umount "$T" 2>err
grep -q 'is not a diskit mount' err || fail "umount of a plain directory: $(cat err)"
echo OK
