#!/bin/bash
# Without booting anything: -N part/fs made on the host (read back by the
# native code and e2fsck/fsck.vfat), --ro refusing appliance commands before
# the appliance starts, --no-appliance refusing them with a clear message.
source "$DK_TESTLIB"
require parted; require mke2fs; require e2fsck

dk fish -N fs:ext4 -N part:50M:gpt -N fs:vfat:20M > out.txt <<'CMDS'
list-filesystems
part-get-parttype /dev/sdb
blockdev-getsize64 /dev/sda
mount /dev/sda1 /
write /hello "hi there"
CMDS
cat > want.txt <<'EOF'
/dev/sda1: ext4
/dev/sdb1: unknown
/dev/sdc1: vfat
gpt
104857600
EOF
diff -u want.txt out.txt || fail "-N output"
[ -f test1.img ] && [ -f test2.img ] && [ -f test3.img ] || fail "-N did not name the disks test1.img..."
[ "$(dk fish --ro -a test1.img -m /dev/sda1 cat /hello)" = "hi there" ] || fail "file written on -N fs:ext4"
# The partition starts at sector 128 (part-disk's alignment); check it on the host.
dd if=test1.img of=p1.img bs=512 skip=128 count=$((204800 - 256)) status=none
e2fsck -fn p1.img > fsck.out 2>&1 || { cat fsck.out >&2; fail "e2fsck -fn on -N fs:ext4"; }
if command -v fsck.vfat > /dev/null; then
  dd if=test3.img of=p3.img bs=512 skip=128 count=$((40960 - 256)) status=none
  fsck.vfat -n p3.img > vfat.out 2>&1 || { cat vfat.out >&2; fail "fsck.vfat -n on -N fs:vfat"; }
fi
dk fish -N help | grep -q '^diskit fish -N lvfs' || fail "-N help"
expect_status 1 dk fish -N bogus:1M run

# --ro: refused before the appliance starts (no notice, image unchanged).
cp test2.img before.img
set +e
dk fish --ro -a test2.img run : mkfs ext4 /dev/sda1 > ro.out 2> ro.err
rc=$?
set -e
[ "$rc" = 1 ] || fail "--ro mkfs exited $rc"
grep -q 'read-only (--ro)' ro.err || fail "--ro message: $(cat ro.err)"
grep -q 'starting the appliance' ro.err && fail "--ro started the appliance"
cmp -s before.img test2.img || fail "--ro changed the image"

# --no-appliance: a clear refusal, nothing changed.
set +e
dk fish --no-appliance -a test2.img run : pvcreate /dev/sda1 2> na.err
rc=$?
set -e
[ "$rc" = 1 ] || fail "--no-appliance pvcreate exited $rc"
grep -q 'needs the appliance.*--no-appliance' na.err || fail "--no-appliance message: $(cat na.err)"
cmp -s before.img test2.img || fail "--no-appliance changed the image"
expect_status 1 dk fish --appliance --no-appliance -a test2.img run
echo ok
