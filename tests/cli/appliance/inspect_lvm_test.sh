#!/bin/bash
# Inspection and the one-shot guest tools on a guest native code cannot
# read: /boot on ext4 on sda1, LVM on sda2 with root on an xfs LV (named
# /dev/mapper/my--vg-root in fstab) and /srv on a btrfs LV (by UUID). The
# guest is made by diskit fish in the appliance; inspect, filesystems, df,
# ls and cat then find the LVs through the appliance (restored from its
# saved state, about a second each), and so does diskit mount -i (when
# /dev/fuse is usable). With DK_GUESTFISH=1 virt-inspector
# (libguestfs 1.48, TCG; about 80 s) must print the same XML, and
# virt-filesystems --all --long --uuid the same table.
source "$DK_TESTLIB"
require qemu-system-x86_64
ls /boot/vmlinuz-* >/dev/null 2>&1 || skip "no kernel in /boot (install linux-image-amd64)"
[ -x "$(dirname "$DISKIT")/diskit-agent" ] || skip "diskit-agent is not built"

truncate -s 1G lvm.img
printf 'Package: hello\nStatus: install ok installed\nVersion: 2.10-3\nArchitecture: amd64\n\n' > status
capture mk dk fish -a lvm.img <<'CMDS'
run
part-init /dev/sda mbr
part-add /dev/sda p 2048 526335
part-add /dev/sda p 526336 -2048
mkfs ext4 /dev/sda1
pvcreate /dev/sda2
vgcreate my-vg /dev/sda2
lvcreate root my-vg 300
lvcreate data my-vg 150
mkfs xfs /dev/my-vg/root
mkfs btrfs /dev/my-vg/data
vfs-uuid /dev/my-vg/data
mount /dev/my-vg/root /
mkdir-p /etc
mkdir-p /usr/bin
ln-s usr/bin /bin
mkdir /boot
mkdir /srv
mkdir-p /var/lib/dpkg
upload status /var/lib/dpkg/status
write /etc/os-release "NAME=\"Debian GNU/Linux\"\nID=debian\nVERSION_ID=\"12\"\n"
write /etc/debian_version "12.7\n"
write /etc/hostname "lvmhost\n"
upload /bin/ls /usr/bin/ls
mount /dev/my-vg/data /srv
write /srv/hello "btrfs data\n"
CMDS
[ "$(cat mk.rc)" = 0 ] || { cat mk.err >&2; fail "making the guest: fish exited $(cat mk.rc)"; }
data_uuid=$(head -1 mk.out)
[[ $data_uuid =~ ^[0-9a-f-]{36}$ ]] || fail "vfs-uuid: $(cat mk.out)"
printf '/dev/mapper/my--vg-root / xfs defaults 0 1\n/dev/sda1 /boot ext4 defaults 0 2\nUUID=%s /srv btrfs defaults 0 0\n' \
  "$data_uuid" > fstab
capture mk2 dk fish -a lvm.img -m /dev/my-vg/root upload fstab /etc/fstab
[ "$(cat mk2.rc)" = 0 ] || fail "writing fstab: $(cat mk2.err)"
sum=$(sha256sum < lvm.img)

capture insp dk inspect -a lvm.img
[ "$(cat insp.rc)" = 0 ] || fail "inspect exited $(cat insp.rc): $(cat insp.err)"
grep -q 'starting the appliance to read LVM volumes' insp.err || fail "no notice: $(cat insp.err)"
for want in '<root>/dev/my-vg/root</root>' '<distro>debian</distro>' '<hostname>lvmhost</hostname>' \
            '<mountpoint dev="/dev/my-vg/root">/</mountpoint>' '<mountpoint dev="/dev/my-vg/data">/srv</mountpoint>' \
            '<mountpoint dev="/dev/sda1">/boot</mountpoint>' '<type>xfs</type>' '<type>btrfs</type>' \
            "<uuid>$data_uuid</uuid>" '<name>hello</name>'; do
  grep -qF "$want" insp.out || fail "inspect lacks $want: $(cat insp.out)"
done

capture fsl dk filesystems -a lvm.img --long --no-title
# Sizes as virt-filesystems gives them: what each file system holds
# (statvfs), the LVs' and PVs' sizes as LVM reports them (the 150 MB LV
# is 38 extents of 4 MiB). UUIDs: the LV's as LVM prints it, the VG's
# and PV's without dashes.
dk df -a lvm.img --output=json > df.json
size_of() { python3 -c 'import json,sys; print([r["size"] for r in json.load(open(sys.argv[1])) if r["filesystem"] == sys.argv[2]][0])' df.json "$1"; }
{
  echo "/dev/sda1 filesystem ext4 - $(size_of /dev/sda1) -"
  echo "/dev/my-vg/data filesystem btrfs - $(size_of /dev/my-vg/data) -"
  echo "/dev/my-vg/root filesystem xfs - $(size_of /dev/my-vg/root) -"
} > fs.want
tr -s ' ' < fsl.out | diff -u fs.want - || fail "filesystems"
capture lvm dk filesystems -a lvm.img --lvs --vgs --pvs --long --uuid --no-title
tr -s ' ' < lvm.out | sed -E 's/ [A-Za-z0-9-]+$//' > lvm.got
printf '%s\n' '/dev/my-vg/data lv 159383552 /dev/my-vg' '/dev/my-vg/root lv 314572800 /dev/my-vg' \
  '/dev/my-vg vg 801112064 /dev/sda2' '/dev/sda2 pv 801112064 -' > lvm.want
diff -u lvm.want lvm.got || fail "filesystems --lvs --vgs --pvs"
[[ $(sed -n 1p lvm.out) =~ \ [A-Za-z0-9]{6}(-[A-Za-z0-9]{4}){5}-[A-Za-z0-9]{6}$ ]] || fail "LV UUID: $(cat lvm.out)"
[[ $(sed -n 3p lvm.out) =~ \ [A-Za-z0-9]{32}$ ]] || fail "VG UUID: $(cat lvm.out)"

capture df dk df -a lvm.img
grep -q '^lvm.img:/dev/my-vg/root ' df.out && grep -q '^lvm.img:/dev/my-vg/data ' df.out ||
  fail "df lacks the LVs: $(cat df.out)"

capture ls dk ls -a lvm.img /srv
[ "$(cat ls.out)" = hello ] || fail "ls /srv through inspection: $(cat ls.out) $(cat ls.err)"
capture cat dk cat -a lvm.img /srv/hello
[ "$(cat cat.out)" = "btrfs data" ] || fail "cat: $(cat cat.out) $(cat cat.err)"
[ "$(sha256sum < lvm.img)" = "$sum" ] || fail "a read-only tool changed the image"

# diskit mount -i: the server forks before the appliance starts (its NBD
# server and VM runner are threads of the serving process).
if [ -c /dev/fuse ] && command -v fusermount3 >/dev/null; then
  mkdir mnt
  timeout 120 "$DISKIT" mount --ro -a lvm.img -i mnt 2> mount.err || fail "mount -i: $(cat mount.err)"
  got=$(timeout 30 cat mnt/srv/hello) || { fusermount3 -uz mnt; fail "reading through the mount timed out"; }
  [ "$got" = "btrfs data" ] || { fusermount3 -uz mnt; fail "cat through the mount: $got"; }
  timeout 60 "$DISKIT" umount mnt || fail "umount"
fi
[ "$(sha256sum < lvm.img)" = "$sum" ] || fail "mount --ro changed the image"

# Without LVM nothing starts:
truncate -s 64M plain.img
mkfs.ext4 -q -F plain.img
capture plain dk filesystems -a plain.img
grep -q 'appliance' plain.err && fail "the appliance started for a guest without LVM: $(cat plain.err)"

if [ "${DK_GUESTFISH:-0}" = 1 ] && command -v virt-inspector >/dev/null; then
  LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg virt-inspector -a lvm.img > vi.xml ||
    fail "virt-inspector failed"
  diff -u vi.xml insp.out || fail "inspect differs from virt-inspector"
  virt-filesystems -a lvm.img --all --long --uuid > vf.txt || fail "virt-filesystems failed"
  dk filesystems -a lvm.img --all --long --uuid 2>/dev/null | diff -u vf.txt - || fail "filesystems differs from virt-filesystems"
fi
