#!/bin/bash
# A write session (read-write is guestfish's default without --ro): every
# writing command, then e2fsck -fn finds both file systems clean and
# debugfs reads the changes back from the image.
source "$DK_TESTLIB"
source "$(dirname "$0")/fixture.sh"
require e2fsck; require debugfs
head -c 70000 /dev/urandom > local.bin

fish -a disk.qcow2 -m /dev/sda1 -m /dev/sda2:/srv > w.out <<'CMDS'
write /new "hello\n"
write-append /new "more\n"
mkdir /d
mkdir-p /d/e/f
mkdir-p /d/e
mkdir-mode /d/m 0750
touch /d/e/f/empty
ln-s ../new /d/link
ln-sf /etc/hostname /d/link
cp /etc/passwd /d
cp-r /etc /etc2
cp-a /home /home2
mv /d/passwd /d/passwd2
rename /new /new2
chmod 0700 /d/e
chown 1000 100 /new2
truncate-size /d/e/f/empty 1K
upload local.bin /d/bin
download /d/bin got.bin
rm /etc2/alpha
rm-rf /etc2
rmdir /var/empty
rm-f /nothere
mv /srv/sub/note /moved
write /srv/x "on data"
utimens /moved 1000000000 0 1234567890 5
-rmdir /d
cat /new2
sync
filesize /d/e/f/empty
is-dir /etc2
CMDS
printf 'hello\nmore\n\n1024\nfalse\n' > w.want
same_file w.want w.out "write session output"
cmp local.bin got.bin || fail "download of the uploaded file differs"

qemu-img convert -O raw disk.qcow2 disk.raw
dd if=disk.raw of=p1.img bs=1M skip=1 count=16 status=none
dd if=disk.raw of=p2.img bs=1M skip=17 count=8 status=none
for p in p1 p2; do
  e2fsck -fn $p.img > $p.fsck 2>&1 || { cat $p.fsck >&2; fail "e2fsck -fn $p.img after the write session"; }
done
dbg() { debugfs -R "$2" "$1" 2>/dev/null; }
[ "$(dbg p1.img 'cat /new2')" = "$(printf 'hello\nmore')" ] || fail "/new2: $(dbg p1.img 'cat /new2')"
dbg p1.img 'stat /new2' | grep -q 'User:  1000   Group:   100' || fail "chown: $(dbg p1.img 'stat /new2')"
dbg p1.img 'stat /d/e' | grep -q 'Mode:  0700' || fail "chmod: $(dbg p1.img 'stat /d/e')"
dbg p1.img 'stat /d/m' | grep -q 'Mode:  0750' || fail "mkdir-mode: $(dbg p1.img 'stat /d/m')"
dbg p1.img 'stat /d/e/f/empty' | grep -q 'Size: 1024' || fail "truncate-size 1K"
dbg p1.img 'stat /d/link' | grep -q 'Fast link dest: "/etc/hostname"' || fail "ln-sf: $(dbg p1.img 'stat /d/link')"
dbg p1.img 'dump /d/bin bin.back' >/dev/null; cmp local.bin bin.back || fail "upload: bytes differ"
[ "$(dbg p1.img 'cat /d/passwd2')" = "$(cat tree/etc/passwd)" ] || fail "cp + mv"
[ "$(dbg p1.img 'cat "/home2/user/a file.txt"')" = "hello world" ] || fail "cp-a"
[ "$(dbg p1.img 'cat /moved')" = "second fs" ] || fail "mv across file systems"
dbg p1.img 'stat /moved' | grep -q 'mtime: 0x499602d2:00000014' || fail "utimens: $(dbg p1.img 'stat /moved')"
dbg p1.img 'ls /' | grep -q etc2 && fail "rm-rf left /etc2"
dbg p1.img 'ls /var' | grep -q empty && fail "rmdir left /var/empty"
[ "$(dbg p2.img 'cat /x')" = "on data" ] || fail "/srv/x on /dev/sda2"
dbg p2.img 'ls /sub' | grep -q note && fail "mv left /srv/sub/note"
check_clean disk.qcow2

# A script that stops at an error has still written what came before it.
capture stop fish -a disk.qcow2 -m /dev/sda1 <<'CMDS'
write /before "kept"
cat /nothere
write /after "never"
CMDS
[ "$(cat stop.rc)" = 1 ] || fail "error status $(cat stop.rc)"
fish --ro -a disk.qcow2 -m /dev/sda1 exists /before : exists /after > stop2.out
printf 'true\nfalse\n' > stop2.want
same_file stop2.want stop2.out "writes before the error"
