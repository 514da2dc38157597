#!/bin/bash
# The appliance end to end (one boot or restore per run): on a
# blank 1 GiB disk made with -N, a GPT with two partitions, LVM on the
# first (xfs on an LV), btrfs on the second; files written on both are
# read back after umount-all in the same run, the layout is checked on the
# host (sgdisk, blkid), and a second --ro run reads the files again and
# leaves the image byte-identical.
source "$DK_TESTLIB"
require qemu-system-x86_64
ls /boot/vmlinuz-* > /dev/null 2>&1 || skip "no kernel in /boot (linux-image-amd64)"
require sgdisk; require blkid

start=$(date +%s)
capture vm dk fish -N disk:1G <<'CMDS'
part-init /dev/sda gpt
part-add /dev/sda p 2048 1050623
part-add /dev/sda p 1050624 -2048
pvcreate /dev/sda1
vgcreate vg /dev/sda1
lvcreate data vg 400
mkfs xfs /dev/vg/data label:xdata
mkfs btrfs /dev/sda2
pvs
vgs
lvs
lvs-full
list-partitions
mount /dev/vg/data /
mkdir /srv
write /hello "on xfs"
write-append /hello " and more"
mount /dev/sda2 /srv
write /srv/hello "on btrfs"
mkdir-p /srv/a/b
ln-s ../../hello /srv/a/b/link
ls /srv
umount-all
mount /dev/vg/data /
cat /hello
mount /dev/sda2 /srv
cat /srv/hello
readlink /srv/a/b/link
vfs-type /dev/sda2
CMDS
grep -q 'not built' vm.err && skip "this diskit has no appliance"
[ "$(cat vm.rc)" = 0 ] || { cat vm.err >&2; fail "fish in the appliance exited $(cat vm.rc)"; }
grep -q '^diskit: starting the appliance for part-init' vm.err || fail "no notice: $(cat vm.err)"
[ "$(grep -c 'starting the appliance' vm.err)" = 1 ] || fail "the appliance started more than once"
out=$(cat vm.out)
grep -qx '/dev/sda1' vm.out || fail "pvs: $out"
grep -qx 'vg' vm.out || fail "vgs: $out"
grep -qx '/dev/vg/data' vm.out || fail "lvs: $out"
grep -qx '  lv_name: data' vm.out && grep -qx '  lv_size: 419430400' vm.out || fail "lvs-full: $out"
grep -qE '^  lv_uuid: [A-Za-z0-9]{32}$' vm.out || fail "lvs-full uuid: $out"
grep -qx '  snap_percent: ' vm.out || fail "lvs-full snap_percent: $out"
grep -qx 'on xfs and more' vm.out || fail "xfs file: $out"
grep -qx 'on btrfs' vm.out || fail "btrfs file: $out"
grep -qx '../../hello' vm.out || fail "btrfs link: $out"
grep -qx 'btrfs' vm.out || fail "vfs-type: $out"
printf 'a\nhello\n' > ls.want
sed -n '/^a$/,/^hello$/p' vm.out | head -2 | diff -u ls.want - || fail "ls /srv: $out"

# The layout, seen on the host.
sgdisk -p test1.img > gpt.txt
grep -qE '^ +1 +2048 +1050623 ' gpt.txt && grep -qE '^ +2 +1050624 +2095104 ' gpt.txt || fail "GPT: $(cat gpt.txt)"
[ "$(blkid -p -o value -s TYPE -O $((2048 * 512)) test1.img)" = LVM2_member ] || fail "sda1 is no PV"
[ "$(blkid -p -o value -s TYPE -O $((1050624 * 512)) test1.img)" = btrfs ] || fail "sda2 is no btrfs"

# A second boot, read-only: the files are there and the image is unchanged.
cp test1.img before.img
capture ro dk fish --ro -a test1.img -m /dev/vg/data cat /hello
[ "$(cat ro.rc)" = 0 ] || { cat ro.err >&2; fail "--ro run exited $(cat ro.rc)"; }
[ "$(cat ro.out)" = "on xfs and more" ] || fail "--ro cat: $(cat ro.out)"
cmp -s before.img test1.img || fail "a --ro run changed the image"
# Restored appliances (the first run above saved the state): each gets the
# host's clock and fresh entropy, so two mkfs make different UUIDs and a
# new file carries today's date, not the day the state was saved.
for n in 1 2; do
  truncate -s 320M u$n.img
  capture u$n dk fish -a u$n.img <<'CMDS'
run
mkfs xfs /dev/sda
vfs-uuid /dev/sda
mount /dev/sda /
touch /f
stat /f
CMDS
  [ "$(cat u$n.rc)" = 0 ] || { cat u$n.err >&2; fail "uuid run $n exited $(cat u$n.rc)"; }
done
uuid1=$(sed -n 1p u1.out) uuid2=$(sed -n 1p u2.out)
[[ $uuid1 =~ ^[0-9a-f-]{36}$ ]] || fail "vfs-uuid: $(cat u1.out)"
[ "$uuid1" != "$uuid2" ] || fail "two restored appliances made the same UUID $uuid1"
mtime=$(sed -n 's/^mtime: //p' u2.out)
now=$(date +%s)
[ -n "$mtime" ] && [ $((now - mtime)) -lt 10 ] && [ $((mtime - now)) -lt 10 ] ||
  fail "the guest clock is off: mtime $mtime, now $now"
echo "appliance test: $(( $(date +%s) - start )) s"
