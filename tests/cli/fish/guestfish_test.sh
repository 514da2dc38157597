#!/bin/bash
# With DK_GUESTFISH=1 and libguestfs-tools installed, the same script runs through
# guestfish (one appliance boot, TCG) and diskit fish, and the outputs must
# be identical. Skipped otherwise.
source "$DK_TESTLIB"
command -v guestfish >/dev/null 2>&1 || skip "guestfish (libguestfs-tools) is not installed"
# One guestfish session boots its appliance under TCG here: minutes, too
# slow for every run of the suite.
[ "${DK_GUESTFISH:-}" = 1 ] || skip "set DK_GUESTFISH=1 to compare with guestfish (boots a VM: minutes)"
source "$(dirname "$0")/fixture.sh"
export LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg

cat > cmp.fish <<'CMDS'
list-devices
list-partitions
list-filesystems
vfs-type /dev/sda1
vfs-label /dev/sda1
vfs-uuid /dev/sda2
blockdev-getsize64 /dev/sda1
part-get-parttype /dev/sda
part-list /dev/sda
part-get-mbr-id /dev/sda 2
mount-ro /dev/sda1 /
mount-ro /dev/sda2 /srv
mounts
mountpoints
ls /etc
find /home
cat /etc/hostname
head-n 3 /etc/twenty
tail-n -18 /etc/twenty
read-lines /etc/three
hexdump /etc/alpha
checksum sha256 /etc/alpha
checksum crc /etc/alpha
grep "^n1[0-2]$" /etc/twenty
exists /etc/hn
is-file /etc/hn
is-file /etc/hn followsymlinks:true
is-symlink /bin
readlink /etc/hn
filesize /etc/alpha
lstatns /etc/three
statvfs /srv
du /etc
file /etc/hostname
file /bin
inspect-os
CMDS
(echo run; cat cmp.fish) > cmp.run
timeout 600 guestfish --ro -a disk.qcow2 < cmp.run > gf.out 2> gf.err || { cat gf.err >&2; fail "guestfish failed"; }
fish --ro -a disk.qcow2 < cmp.run > dk.out
# atime differs: guestfish's kernel mount may have touched it. st_dev is
# the appliance kernel's device number (its SCSI disks enumerate in its own
# order, so the user's /dev/sda1 is 8:17 there); diskit reports 8:1.
grep -v -e '^st_atime' -e '^st_dev' gf.out > gf.cmp; grep -v -e '^st_atime' -e '^st_dev' dk.out > dk.cmp
same_file gf.cmp dk.cmp "guestfish and diskit fish output"
