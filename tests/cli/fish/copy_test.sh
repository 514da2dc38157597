#!/bin/bash
# Transfer: copy-in, copy-out, tar-in, tar-out (compressed too), download
# and upload to and from standard streams; then e2fsck -fn is clean and
# debugfs reads the copies back.
source "$DK_TESTLIB"
source "$(dirname "$0")/fixture.sh"
require e2fsck; require debugfs; require tar
mkdir -p in/dir/sub out
printf 'one\n' > in/dir/a; printf 'two\n' > in/dir/sub/b; ln -s a in/dir/l; chmod 0751 in/dir/sub
printf 'single\n' > in/single
mkdir -p tarsrc/t; printf 'from tar\n' > tarsrc/t/f; tar -C tarsrc -cf in.tar .

fish -a disk.qcow2 -m /dev/sda1 -m /dev/sda2:/srv > c.out <<'CMDS'
copy-in in/dir in/single /srv
copy-out /etc/hostname /home out
tar-in in.tar /srv
tar-out /etc out/etc.tar
tar-out /etc out/etc.tgz compress:gzip "excludes:twenty three"
download /etc/hostname -
CMDS
[ "$(cat c.out)" = myhost ] || fail "download to stdout: $(cat c.out)"
[ "$(cat out/hostname)" = myhost ] && [ "$(cat "out/home/user/a file.txt")" = "hello world" ] || fail "copy-out"
tar -tf out/etc.tar | sort > etc.list
grep -qx './passwd' etc.list && grep -qx './hn' etc.list || fail "tar-out: $(cat etc.list)"
tar -tzf out/etc.tgz | grep -qE 'twenty|three' && fail "tar-out excludes: $(tar -tzf out/etc.tgz)"
tar -tzf out/etc.tgz | grep -qx './passwd' || fail "tar-out gzip: $(tar -tzf out/etc.tgz)"

printf 'piped\n' | fish -a disk.qcow2 -m /dev/sda2 upload - /from-stdin

qemu-img convert -O raw disk.qcow2 disk.raw
dd if=disk.raw of=p2.img bs=1M skip=17 count=8 status=none
e2fsck -fn p2.img > fsck.out 2>&1 || { cat fsck.out >&2; fail "e2fsck -fn after copy-in/tar-in"; }
dbg() { debugfs -R "$1" p2.img 2>/dev/null; }
[ "$(dbg 'cat /dir/sub/b')" = two ] || fail "copy-in dir"
[ "$(dbg 'cat /single')" = single ] || fail "copy-in file"
dbg 'stat /dir/sub' | grep -q 'Mode:  0751' || fail "copy-in mode"
dbg 'stat /dir/l' | grep -q 'Fast link dest: "a"' || fail "copy-in symlink"
[ "$(dbg 'cat /t/f')" = "from tar" ] || fail "tar-in"
[ "$(dbg 'cat /from-stdin')" = piped ] || fail "upload from stdin: $(dbg 'cat /from-stdin')"

capture ro fish --ro -a disk.qcow2 -m /dev/sda1 copy-in in/single /
grep -q 'copy-in: the disks were opened read-only' ro.err || fail "--ro copy-in: $(cat ro.err)"
