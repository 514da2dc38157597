#!/bin/bash
# copy-in then copy-out round trip on an ext4 guest in qcow2: the tree that
# comes back equals the source (types, modes, sizes, mtimes, link targets,
# bytes); e2fsck -fn finds the guest clean; copy-out never changes the image;
# errors found before writing leave the image byte-identical.
source "$DK_TESTLIB"
source "$(dirname "$0")/lib_guest.sh"

mkdir base; mkdir -p base/etc base/usr/bin; echo "/dev/sda1 / ext4 defaults 0 1" > base/etc/fstab
ln -s usr/bin base/bin
echo x > base/usr/bin/h1; ln base/usr/bin/h1 base/usr/bin/h2
make_guest base g.qcow2
make_tree src

# copy-in a tree and a single file; copy-out both again.
dk copy-in -a g.qcow2 -m /dev/sda1 src src/etc/passwd /
guest_fsck g.qcow2
sum_before=$(sha256sum < g.qcow2)
mkdir out
dk copy-out -a g.qcow2 -m /dev/sda1 /src /passwd out
[ "$(sha256sum < g.qcow2)" = "$sum_before" ] || fail "copy-out changed the image"
listing src > want.lst; listing out/src > got.lst
same_file want.lst got.lst "tree after copy-in + copy-out"
diff -r --no-dereference src out/src >/dev/null || fail "file contents differ after the round trip"
cmp src/etc/passwd out/passwd || fail "single file differs"
[ "$(stat -c %a out/passwd)" = "$(stat -c %a src/etc/passwd)" ] || fail "single file mode"
# The sparse file stays sparse on the way out.
[ "$(stat -c %b out/src/var/sparse)" -lt 100 ] || fail "sparse file was filled: $(stat -c %b out/src/var/sparse) blocks"
# A guest hard link (mkfs.ext4 -d keeps them) comes out as a hard link.
dk copy-out -a g.qcow2 -m /dev/sda1 /usr out
[ "$(stat -c %i out/usr/bin/h1)" = "$(stat -c %i out/usr/bin/h2)" ] || fail "hard link lost"

# Without -m: the guest's fstab mounts /dev/sda1 at /; guest_dir through a symlink.
mkdir out2
dk copy-out -a g.qcow2 /bin/. out2 2>/dev/null || true
dk copy-out -a g.qcow2 /src/deep out2
listing src/deep > d.want; listing out2/deep > d.got
same_file d.want d.got "copy-out of a subdirectory"

# copy-in replaces files and merges directories.
echo changed > src/etc/hostname
dk copy-in -a g.qcow2 src/etc /src
rm -rf out3; mkdir out3
dk copy-out -a g.qcow2 /src/etc out3
cmp out3/etc/hostname src/etc/hostname || fail "copy-in did not replace a file"

# Errors: one line, exit 1, the image unchanged.
sum=$(sha256sum < g.qcow2)
expect_clean_error "$DISKIT" copy-in -a g.qcow2 -m /dev/sda1 src /nothere
grep -q "'/nothere': No such file or directory" "$T/ece.err" || fail "$(cat "$T/ece.err")"
expect_clean_error "$DISKIT" copy-in -a g.qcow2 -m /dev/sda1 src /passwd
expect_clean_error "$DISKIT" copy-in -a g.qcow2 -m /dev/sda1 missing-local /
mkfifo fifo
expect_clean_error "$DISKIT" copy-in -a g.qcow2 -m /dev/sda1 fifo /
grep -q "not supported" "$T/ece.err" || fail "fifo: $(cat "$T/ece.err")"
mkdir clash; echo x > clash/src
expect_clean_error "$DISKIT" copy-in -a g.qcow2 -m /dev/sda1 clash/src /
grep -q "directory is in the way" "$T/ece.err" || fail "clash: $(cat "$T/ece.err")"
head -c 60M /dev/zero | tr '\0' 'x' > big
expect_clean_error "$DISKIT" copy-in -a g.qcow2 -m /dev/sda1 big /
grep -q "not enough free space" "$T/ece.err" || fail "space: $(cat "$T/ece.err")"
rm -f big
[ "$(sha256sum < g.qcow2)" = "$sum" ] || fail "a failed copy-in changed the image"
expect_clean_error "$DISKIT" copy-out -a g.qcow2 -m /dev/sda1 /nothere out
expect_clean_error "$DISKIT" copy-out -a g.qcow2 -m /dev/sda1 /src out/src/etc/passwd
# A disk with no file system at all.
qemu-img create -q -f qcow2 empty.qcow2 16M
expect_clean_error "$DISKIT" copy-out -a empty.qcow2 / out
[ "$(sha256sum < g.qcow2)" = "$sum" ] || fail "a failed copy-out changed the image"
echo PASS
