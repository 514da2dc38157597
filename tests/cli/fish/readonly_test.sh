#!/bin/bash
# --ro refuses every writing command with a clear error and leaves the image
# byte-identical; mount-ro refuses writes in a read-write session; an image
# that qemu-io holds open is refused, unchanged.
source "$DK_TESTLIB"
source "$(dirname "$0")/fixture.sh"
require mkfifo
sum=$(sha256sum < disk.qcow2)

for cmd in 'write /x "y"' 'touch /etc/hostname' 'mkdir /d' 'rm /etc/hostname' 'rm-rf /etc' \
           'chmod 0777 /etc' 'mv /etc/hostname /h' 'upload /etc/hostname /up' 'ln-s a /l' \
           'truncate-size /etc/hostname 0' 'edit /etc/hostname' 'cp /etc/hostname /c'; do
  capture ro fish --ro -a disk.qcow2 -m /dev/sda1 <<<"$cmd"
  [ "$(cat ro.rc)" = 1 ] || fail "--ro '$cmd' exited $(cat ro.rc)"
  grep -q "diskit: error: .*: the disks were opened read-only (--ro); write commands are refused" ro.err ||
    fail "--ro '$cmd': $(cat ro.err)"
done
[ "$(sha256sum < disk.qcow2)" = "$sum" ] || fail "--ro changed the image"

# mount-ro in a read-write session: the file system refuses.
capture mro fish -a disk.qcow2 <<<$'run\nmount-ro /dev/sda1 /\nwrite /x "y"'
[ "$(cat mro.rc)" = 1 ] && grep -qx "\*stdin\*:3: diskit: error: write: '/x': Read-only file system" mro.err || fail "mount-ro: $(cat mro.err)"

# An image in use by qemu-io (its write lock) is refused.
rm -f hold.fifo; mkfifo hold.fifo
qemu-io -f qcow2 disk.qcow2 <hold.fifo >/dev/null 2>&1 &
HOLDER=$!
exec 9>hold.fifo
trap 'exec 9>&- 2>/dev/null; kill $HOLDER 2>/dev/null || true; rm -rf "$T"' EXIT
for _ in $(seq 50); do qemu-img info disk.qcow2 >/dev/null 2>&1 || break; sleep 0.1; done
capture busy fish -a disk.qcow2 -m /dev/sda1 write /x y
[ "$(cat busy.rc)" = 1 ] || fail "a locked image was opened: $(cat busy.out)"
grep -qiE 'lock|in use' busy.err || fail "locked image: $(cat busy.err)"
echo quit >&9; exec 9>&-; wait "$HOLDER" || true
[ "$(sha256sum < disk.qcow2)" = "$sum" ] || fail "the locked image changed"
