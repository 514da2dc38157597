#!/bin/bash
# ext4 guests built with mkfs.ext4 -d from a source tree, in an MBR disk
# with logical partitions, wrapped in qcow2: filesystems, ls, ls -R, ls -lR
# and cat must show exactly the source tree; the image is never modified.
source "$DK_TESTLIB"
require_qemu; require sfdisk; require mkfs.ext4

mkdir -p tree/etc tree/usr/bin "tree/home/user/my docs" tree/var/empty
echo "root:x:0:0:root:/root:/bin/bash" > tree/etc/passwd
echo "/dev/sda1 / ext4 defaults 0 1" > tree/etc/fstab
echo "LABEL=data /srv ext4 defaults 0 2" >> tree/etc/fstab
mkdir tree/srv
echo myhost > tree/etc/hostname
ln -s usr/bin tree/bin
ln -s ../../etc/passwd tree/home/user/pw
ln -s /etc/hostname tree/etc/hn_abs
head -c 300000 /dev/urandom > tree/usr/bin/prog; chmod 4755 tree/usr/bin/prog
echo "hello world" > "tree/home/user/my docs/a file.txt"
for i in $(seq 1 300); do echo "$i" > "tree/var/f$i"; done
: > tree/var/empty/zero
mkdir -p data/sub; echo "second fs" > data/sub/note

truncate -s 64M disk.raw
printf 'label: dos\n,16M,L\n,8M,S\n,,E\n,8M,L\n,8M,L\n' | sfdisk -q disk.raw
mkfs.ext4 -q -F -L rootfs -d tree p1.img 16M
mkfs.ext4 -q -F -L data -d data p5.img 8M
mkswap -q p2.img 2>/dev/null || { truncate -s 8M p2.img; mkswap -q p2.img; }
dd if=p1.img of=disk.raw bs=1M seek=1 conv=notrunc status=none
dd if=p2.img of=disk.raw bs=512 seek=34816 conv=notrunc status=none
dd if=p5.img of=disk.raw bs=512 seek=53248 conv=notrunc status=none
qemu-img convert -O qcow2 disk.raw disk.qcow2
sum_before=$(md5sum disk.qcow2)

# filesystems: names, long table, JSON.
dk filesystems -a disk.qcow2 > fs.out
printf '/dev/sda1\n/dev/sda5\n' > fs.want
same_file fs.want fs.out "filesystems"
dk filesystems -a disk.qcow2 --long > fsl.out
grep -qE '^Name +Type +VFS +Label +Size +Parent$' fsl.out || fail "long header: $(head -1 fsl.out)"
# A file system's Size is what it holds (statvfs blocks * bsize, as
# virt-filesystems mounts and measures it; df_test checks those figures
# against dumpe2fs), not its partition's 16 MiB.
fs_size=$(dk df -a disk.qcow2 --output=json | python3 -c 'import json,sys; print([r["size"] for r in json.load(sys.stdin) if r["filesystem"] == "/dev/sda1"][0])')
[ "$fs_size" -lt 16777216 ] || fail "df size $fs_size"
grep -qE "^/dev/sda1 +filesystem +ext4 +rootfs +$fs_size +-\$" fsl.out || fail "long row: $(cat fsl.out)"
dk filesystems -a disk.qcow2 --extra > fse.out
grep -qx /dev/sda2 fse.out || fail "--extra lists no swap: $(cat fse.out)"
dk filesystems -a disk.qcow2 --output=json > fs.json
python3 - fs.json <<'PY' || fail "JSON: $(cat fs.json)"
import json, sys
d = json.load(open(sys.argv[1]))
assert [x["device"] for x in d] == ["/dev/sda1", "/dev/sda5"], d
assert d[0]["type"] == "ext4" and d[0]["label"] == "rootfs" and d[0]["size"] == 16 << 20, d
assert len(d[1]["uuid"]) == 36
PY
dk filesystems -a disk.qcow2 --parts --long --no-title > parts.out
grep -qE '^/dev/sda5 +partition +83 +8388608 +/dev/sda$' parts.out || fail "parts: $(cat parts.out)"
grep -qE '^/dev/sda3 +partition +05 +1024 +/dev/sda$' parts.out || fail "extended: $(cat parts.out)"

# Two disks, --format applying to the -a after it: /dev/sdb is the bare file system.
dk filesystems -a disk.qcow2 --format raw -a p5.img > two.out
printf '/dev/sda1\n/dev/sda5\n/dev/sdb\n' > two.want
same_file two.want two.out "filesystems of two disks"
dk cat -a disk.qcow2 --format raw -a p5.img -m /dev/sdb /sub/note > sdb.out
echo "second fs" > sdb.want
same_file sdb.want sdb.out "cat from /dev/sdb"

# ls of one directory: sorted names, like ls -A | sort.
dk ls -a disk.qcow2 -m /dev/sda1 /etc > ls.out
(cd tree/etc && ls -A | LC_ALL=C sort) > ls.want
same_file ls.want ls.out "ls /etc"

# ls -R: every path below the directory, compared as a set with find.
dk ls -a disk.qcow2 -m /dev/sda1 -R / | LC_ALL=C sort > lsr.out
(cd tree && find . -mindepth 1 | sed 's|^\.||' | grep -v '^/lost+found') | LC_ALL=C sort > lsr.want
grep -v '^/lost+found' lsr.out > lsr.cmp
same_file lsr.want lsr.cmp "ls -R /"

# ls -lR: type, mode, size and link targets match stat(1) on the tree.
dk ls -a disk.qcow2 -m /dev/sda1 -lR /usr > lslr.out
grep -qE "^- 4755 +300000 /usr/bin/prog$" lslr.out || fail "ls -lR: $(cat lslr.out)"
dk ls -a disk.qcow2 -m /dev/sda1 -l / > lsl.out
grep -qE "^l 0777 +7 /bin -> usr/bin$" lsl.out || fail "ls -l: $(cat lsl.out)"

# cat: bytes identical, through relative and absolute symlinks and a space.
dk cat -a disk.qcow2 -m /dev/sda1 /usr/bin/prog > prog.out
same_file tree/usr/bin/prog prog.out "cat prog"
dk cat -a disk.qcow2 -m /dev/sda1 /home/user/pw "/home/user/my docs/a file.txt" /etc/hn_abs > multi.out
cat tree/etc/passwd "tree/home/user/my docs/a file.txt" tree/etc/hostname > multi.want
same_file multi.want multi.out "cat through symlinks"
dk cat -a disk.qcow2 -m /dev/sda1 /var/empty/zero > zero.out
[ ! -s zero.out ] || fail "empty file not empty"

# Mounting a second file system at a mountpoint, explicitly and from fstab.
dk cat -a disk.qcow2 -m /dev/sda1 -m /dev/sda5:/srv /srv/sub/note > note.out
echo "second fs" > note.want
same_file note.want note.out "cat across a mount"
dk cat -a disk.qcow2 /srv/sub/note /etc/hostname > auto.out
cat note.want tree/etc/hostname > auto.want
same_file auto.want auto.out "cat with the guest's fstab"
dk ls -a disk.qcow2 -R /srv > srv.out
printf '/srv/lost+found\n/srv/sub\n/srv/sub/note\n' > srv.want
same_file srv.want srv.out "ls -R across a mount"

# Errors: one line, exit 1.
expect_clean_error "$DISKIT" cat -a disk.qcow2 -m /dev/sda1 /etc/nothere
grep -q "'/etc/nothere': No such file or directory" "$T/ece.err" || fail "$(cat "$T/ece.err")"
expect_clean_error "$DISKIT" ls -a disk.qcow2 -m /dev/sda2 /
grep -q "swap" "$T/ece.err" || fail "unsupported fs message: $(cat "$T/ece.err")"
expect_clean_error "$DISKIT" ls -a disk.qcow2 -m /dev/sda9 /
expect_clean_error "$DISKIT" cat -a disk.qcow2 -m /dev/sda1 /etc
expect_clean_error "$DISKIT" ls -a p5.img /

# Read-only: not one byte changed.
[ "$(md5sum disk.qcow2)" = "$sum_before" ] || fail "the image changed"
echo PASS
