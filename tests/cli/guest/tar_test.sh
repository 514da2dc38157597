#!/bin/bash
# tar-out of an ext4 guest lists what the source tree holds (bsdtar reads
# it); tar-in of a tarball made by bsdtar lands byte-exact (debugfs reads it
# back, e2fsck -fn is clean); compressed archives both ways; members that
# would escape the target are refused with the image unchanged.
source "$DK_TESTLIB"
source "$(dirname "$0")/lib_guest.sh"
require bsdtar; require debugfs

make_tree src
make_guest src g.qcow2
sum=$(sha256sum < g.qcow2)

# tar-out: the member list is the tree's, as `tar -C / -cf - .` names them.
dk tar-out -a g.qcow2 -m /dev/sda1 / out.tar
[ "$(sha256sum < g.qcow2)" = "$sum" ] || fail "tar-out changed the image"
bsdtar -tf out.tar | sed 's|/$||' | grep -v '^\./lost+found' | LC_ALL=C sort > got.lst
(cd src && find . | grep -v '^\./lost+found') | LC_ALL=C sort > want.lst
same_file want.lst got.lst "tar-out member list"
mkdir x && bsdtar -xpf out.tar -C x
listing src > a.lst; listing x > b.lst
same_file a.lst b.lst "tar-out extracted with bsdtar"
bsdtar -tvf out.tar | grep -q '^hrw' || bsdtar -tvf out.tar | grep -q 'link to' || fail "no hard link member"

# To stdout, gzip-compressed (-z) and xz (--compress), of a subdirectory.
dk tar-out -a g.qcow2 -m /dev/sda1 -z /usr - > usr.tgz
gzip -t usr.tgz || fail "-z did not write gzip"
bsdtar -tzf usr.tgz | LC_ALL=C sort > usr.got
printf './\n./bin/\n./bin/prog\n./bin/prog2\n' > usr.want
same_file usr.want usr.got "tar-out of /usr"
dk tar-out -a g.qcow2 -m /dev/sda1 --compress=xz /etc etc.txz
xz -t etc.txz || fail "--compress=xz did not write xz"
expect_clean_error "$DISKIT" tar-out -a g.qcow2 -m /dev/sda1 /etc/passwd p.tar
expect_clean_error "$DISKIT" tar-out -a g.qcow2 -m /dev/sda1 --compress=rar /etc p.tar

# tar-in: a bsdtar archive (gzip) into a new directory; then read back.
mkdir -p up/dir/sub; head -c 100000 /dev/urandom > up/dir/blob; echo note > up/dir/sub/n
ln -s blob up/dir/lnk; chmod 640 up/dir/blob
bsdtar -czf up.tgz -C up .
dk copy-in -a g.qcow2 -m /dev/sda1 up/dir /   # tar-in onto an existing tree merges
dk tar-in -a g.qcow2 -m /dev/sda1 up.tgz /dir
guest_fsck g.qcow2
qemu-img convert -O raw g.qcow2 r.raw; dd if=r.raw of=p1.raw bs=1M skip=1 count=40 status=none
debugfs -R "cat /dir/dir/blob" p1.raw > blob.out 2>/dev/null
cmp blob.out up/dir/blob || fail "debugfs reads other bytes than tar-in wrote"
debugfs -R "stat /dir/dir/blob" p1.raw 2>/dev/null | grep -q 'Mode:  0640' || fail "mode not kept"
[ "$(debugfs -R 'cat /dir/dir/sub/n' p1.raw 2>/dev/null)" = note ] || fail "nested file"
# From stdin, into a directory that does not exist yet below the target.
bsdtar -cf - -C up dir | dk tar-in -a g.qcow2 -m /dev/sda1 - /etc
mkdir back; dk copy-out -a g.qcow2 -m /dev/sda1 /etc/dir back
diff -r --no-dereference up/dir back/dir || fail "tar-in from stdin"

# Escapes: '..' and absolute names are refused before anything is written.
python3 - <<'PY'
import io, tarfile
for name, members in (("dotdot.tar", ["ok.txt", "../evil"]), ("abs.tar", ["ok.txt", "/abs"]),
                      ("deep.tar", ["a/b/../../../evil"])):
    with tarfile.open(name, "w", format=tarfile.GNU_FORMAT) as t:
        for m in members:
            i = tarfile.TarInfo(m); i.size = 3; t.addfile(i, io.BytesIO(b"bad"))
with tarfile.open("dev.tar", "w") as t:
    i = tarfile.TarInfo("ok.txt"); i.size = 3; t.addfile(i, io.BytesIO(b"bad"))
    i = tarfile.TarInfo("null"); i.type = tarfile.CHRTYPE; i.devmajor = 1; i.devminor = 3; t.addfile(i)
PY
sum=$(sha256sum < g.qcow2)
for a in dotdot abs deep dev; do
  expect_clean_error "$DISKIT" tar-in -a g.qcow2 -m /dev/sda1 $a.tar /etc
done
grep -q "not supported" "$T/ece.err" || fail "device member: $(cat "$T/ece.err")"
expect_clean_error "$DISKIT" tar-in -a g.qcow2 -m /dev/sda1 up.tgz /nothere
echo garbage > bad.tar
expect_clean_error "$DISKIT" tar-in -a g.qcow2 -m /dev/sda1 bad.tar /etc
[ "$(sha256sum < g.qcow2)" = "$sum" ] || fail "a refused tar-in changed the image"
echo PASS
