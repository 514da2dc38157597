#!/bin/bash
# Script-mode golden outputs of the reading commands, in guestfish 1.48's
# shapes (string lists one per line, hashes "key: value", booleans
# true/false, structs "field: value", RString results followed by a newline).
# The image must not change.
source "$DK_TESTLIB"
source "$(dirname "$0")/fixture.sh"
sum_before=$(sha256sum disk.qcow2)

fish --ro -a disk.qcow2 > devs.out <<'CMDS'
run
list-devices
list-partitions
list-filesystems
vfs-type /dev/sda1
vfs-label /dev/sda2
blockdev-getsize64 /dev/sda
blockdev-getsize64 /dev/sda2
part-get-parttype /dev/sda
part-list /dev/sda
part-get-mbr-id /dev/sda 1
part-to-dev /dev/sda2
part-to-partnum /dev/sda2
canonical-device-name /dev/vda1
CMDS
golden devs <<'EOF2'
/dev/sda
/dev/sda1
/dev/sda2
/dev/sda1: ext4
/dev/sda2: ext4
ext4
data
33554432
8388608
msdos
[0] = {
  part_num: 1
  part_start: 1048576
  part_end: 17825791
  part_size: 16777216
}
[1] = {
  part_num: 2
  part_start: 17825792
  part_end: 26214399
  part_size: 8388608
}
0x83
/dev/sda
2
/dev/sda1
EOF2
uuid=$(fish --ro -a disk.qcow2 run : vfs-uuid /dev/sda1)
[[ $uuid =~ ^[0-9a-f-]{36}$ ]] || fail "vfs-uuid: $uuid"

fish --ro -a disk.qcow2 -m /dev/sda1 -m /dev/sda2:/srv > files.out <<'CMDS'
mounts
mountpoints
ls /
ls /etc
cat /etc/hostname
read-file /etc/hostname
head-n 2 /etc/twenty
head-n -18 /etc/twenty
tail-n 2 /etc/twenty
tail-n -19 /etc/twenty
read-lines /etc/three
exists /etc/hn
exists /nothere
is-file /etc/hn
is-file /etc/hn followsymlinks:true
is-dir /bin
is-dir /bin followsymlinks:true
is-symlink /bin
readlink /etc/hn
filesize /etc/alpha
checksum md5 /etc/alpha
checksum sha256 /etc/alpha
checksum crc /etc/alpha
hexdump /etc/alpha
grep line2 /etc/three
grep "^n1[0-2]$" /etc/twenty
grep LINE /etc/three insensitive:true
grep "n(3|4)$" /etc/twenty extended:true
wc-l /etc/twenty
wc-w "/home/user/a file.txt"
cat /srv/sub/note
find /home
file /etc/hostname
file /bin
file /etc
CMDS
md5=$(md5sum < tree/etc/alpha | cut -d' ' -f1)
sha=$(sha256sum < tree/etc/alpha | cut -d' ' -f1)
crc=$(cksum < tree/etc/alpha | cut -d' ' -f1)
golden files <<EOF2
/dev/sda1
/dev/sda2
/dev/sda1: /
/dev/sda2: /srv
bin
etc
home
lost+found
srv
usr
var
alpha
fstab
hn
hostname
passwd
three
twenty
myhost

myhost
n1
n2
n1
n2
n19
n20
n19
n20
line1
line2
line3
true
false
false
true
false
true
true
/etc/hostname
37
$md5
$sha
$crc
00000000  41 42 43 44 45 46 47 48  49 4a 4b 4c 4d 4e 4f 50  |ABCDEFGHIJKLMNOP|
00000010  51 52 53 54 55 56 57 58  59 5a 30 31 32 33 34 35  |QRSTUVWXYZ012345|
00000020  36 37 38 39 0a                                    |6789.|
00000025

line2
n10
n11
n12
line1
line2
line3
n3
n4
20
2
second fs

/user
/user/a file.txt
ASCII text
symbolic link
directory
EOF2

# du: kilobytes of the blocks the file uses, as debugfs counts them.
require debugfs
blocks=$(debugfs -R "stat /etc/alpha" p1.img 2>/dev/null | sed -n 's/.*Blockcount: \([0-9]*\).*/\1/p')
fish --ro -a disk.qcow2 -m /dev/sda1 du /etc/alpha > du.out
echo $(( (blocks + 1) / 2 )) | golden du

# stat and statns: the fields in guestfish's order, values from debugfs.
fish --ro -a disk.qcow2 -m /dev/sda1 statns /etc/three > statns.out
ino=$(debugfs -R "stat /etc/three" p1.img 2>/dev/null | sed -n 's/^Inode: \([0-9]*\).*/\1/p')
[ "$(cut -d: -f1 statns.out | tr '\n' ' ')" = "st_dev st_ino st_mode st_nlink st_uid st_gid st_rdev st_size st_blksize st_blocks st_atime_sec st_atime_nsec st_mtime_sec st_mtime_nsec st_ctime_sec st_ctime_nsec st_spare1 st_spare2 st_spare3 st_spare4 st_spare5 st_spare6 " ] || fail "statns fields: $(cat statns.out)"
grep -qx "st_dev: 2049" statns.out || fail "st_dev of /dev/sda1: $(cat statns.out)"
grep -qx "st_ino: $ino" statns.out || fail "st_ino: $(cat statns.out)"
grep -qx "st_mode: 33152" statns.out || fail "st_mode (0100600): $(cat statns.out)"
grep -qx "st_size: 18" statns.out || fail "st_size: $(cat statns.out)"
grep -qx "st_mtime_sec: 1577934245" statns.out || fail "st_mtime: $(cat statns.out)"
fish --ro -a disk.qcow2 -m /dev/sda1 -m /dev/sda2:/srv stat /srv/sub/note : lstat /bin : statvfs / > stat.out
[ "$(grep -c . stat.out)" = 37 ] || fail "stat/lstat/statvfs: $(cat stat.out)"
grep -qx "dev: 2050" stat.out || fail "stat dev of /dev/sda2: $(cat stat.out)"
grep -qx "mode: 41471" stat.out || fail "lstat of a symlink (0120777): $(cat stat.out)"
grep -qx "namemax: 255" stat.out || fail "statvfs namemax: $(cat stat.out)"

# df: coreutils' table for the mounts under /sysroot.
fish --ro -a disk.qcow2 -m /dev/sda1 -m /dev/sda2:/srv df > df.out
head -1 df.out | grep -qx 'Filesystem     1K-blocks *Used Available Use% Mounted on' || fail "df header: $(cat df.out)"
grep -qE '^/dev/sda1 +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+% /sysroot$' df.out || fail "df row: $(cat df.out)"
grep -qE '^/dev/sda2 +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+% /sysroot/srv$' df.out || fail "df row: $(cat df.out)"
fish --ro -a disk.qcow2 -m /dev/sda1 df-h > dfh.out
head -1 dfh.out | grep -qx 'Filesystem      Size  Used Avail Use% Mounted on' || fail "df-h header: $(cat dfh.out)"
grep -qE '^/dev/sda1 +1[0-9]M ' dfh.out || fail "df-h row: $(cat dfh.out)"

# ll: ls -la's shape.
fish --ro -a disk.qcow2 -m /dev/sda1 ll /etc > ll.out
head -1 ll.out | grep -qE '^total [0-9]+$' || fail "ll total: $(cat ll.out)"
grep -qE '^-rw------- 1 root root +18 Jan  2  2020 three$' ll.out || fail "ll row: $(cat ll.out)"
grep -qE '^lrwxrwxrwx 1 root root +13 .* hn -> /etc/hostname$' ll.out || fail "ll link: $(cat ll.out)"
grep -qE '^drwxr-xr-x [0-9]+ root root .* \.$' ll.out || fail "ll dot: $(cat ll.out)"

same_file <(echo "$sum_before") <(sha256sum disk.qcow2) "image after read-only commands"
