#!/bin/bash
# GPT disks made by sgdisk: partitions found by number, names and GUIDs
# kept; a damaged primary header or entry array falls back to the backup
# GPT with one warning; both damaged: no partitions, no crash. A GPT made
# for 4096-byte sectors (fdisk -b 4096) is found at byte 4096.
source "$DK_TESTLIB"
require_qemu; require sgdisk; require mkfs.ext4

mkdir -p tree/etc; echo gpt > tree/etc/hostname
truncate -s 40M disk.raw
sgdisk -n 1:2048:+4M -t 1:ef00 -c 1:EFI -n 3:0:+20M -t 3:8300 -c 3:root disk.raw >/dev/null 2>&1
mkfs.ext4 -q -F -E root_owner=0:0 -L gptroot -d tree p3.img 20M
start=$(sgdisk -p disk.raw | awk '$1 == 3 {print $2}')
[ -n "$start" ] || fail "sgdisk made no partition 3"

dd if=p3.img of=disk.raw bs=512 seek="$start" conv=notrunc status=none
qemu-img convert -O qcow2 disk.raw good.qcow2

dk filesystems -a good.qcow2 > good.out 2> good.err
echo /dev/sda3 > want.out
same_file want.out good.out "filesystems on GPT"
[ ! -s good.err ] || fail "unexpected stderr: $(cat good.err)"
dk filesystems -a good.qcow2 --parts > parts.out
printf '/dev/sda1\n/dev/sda3\n' > parts.want
same_file parts.want parts.out "GPT partitions"
dk cat -a good.qcow2 -m /dev/sda3 /etc/hostname > cat.out
echo gpt > cat.want
same_file cat.want cat.out "cat on GPT"

# Damaged primary header (LBA 1): the backup is used, with one warning.
cp disk.raw bad1.raw
printf 'XXXXXXXX' | dd of=bad1.raw bs=1 seek=$((512 + 8)) conv=notrunc status=none
dk filesystems -a bad1.raw --format raw > bad1.out 2> bad1.err
same_file want.out bad1.out "filesystems with the backup GPT"
[ "$(grep -c 'primary GPT is damaged' bad1.err)" = 1 ] || fail "warning: $(cat bad1.err)"
grep -q '^diskit: warning: ' bad1.err || fail "warning prefix: $(cat bad1.err)"

# Damaged primary entry array (LBA 2): CRC mismatch, backup used.
cp disk.raw bad2.raw
printf '\xff\xff\xff\xff' | dd of=bad2.raw bs=1 seek=$((1024 + 40)) conv=notrunc status=none
dk filesystems -a bad2.raw --format raw > bad2.out 2> bad2.err
same_file want.out bad2.out "filesystems with a damaged entry array"
grep -q 'entry array CRC32 mismatch' bad2.err || fail "warning: $(cat bad2.err)"

# Both damaged: nothing to list, a warning, exit 0, no crash.
cp bad1.raw bad3.raw
size=$(stat -c %s bad3.raw)
printf 'XXXXXXXX' | dd of=bad3.raw bs=1 seek=$((size - 512)) conv=notrunc status=none
set +e; timeout 20 "$DISKIT" filesystems -a bad3.raw --format raw > bad3.out 2> bad3.err; rc=$?; set -e
[ "$rc" = 0 ] || fail "exit $rc: $(cat bad3.err)"
grep -q 'no valid GPT' bad3.err || fail "warning: $(cat bad3.err)"
# 4 KiB logical sectors: header at LBA 1 = byte 4096, entries and
# partitions in 4 KiB units; the backup alone also finds it.
if command -v fdisk >/dev/null; then
  truncate -s 64M k4.raw
  printf 'g\nn\n1\n\n+20M\nn\n2\n\n\nw\n' | fdisk -b 4096 k4.raw >/dev/null 2>&1
  k4start=$(fdisk -b 4096 -l k4.raw | awk '$1 == "k4.raw2" {print $2}')
  k4end=$(fdisk -b 4096 -l k4.raw | awk '$1 == "k4.raw2" {print $3}')
  [ -n "$k4start" ] || fail "fdisk -b 4096 made no partition 2"
  mkfs.ext4 -q -F -b 4096 -L k4root -d tree p4k.img $(( (k4end - k4start + 1) * 4 ))K
  dd if=p4k.img of=k4.raw bs=4096 seek="$k4start" conv=notrunc status=none
  qemu-img convert -O qcow2 k4.raw k4.qcow2
  dk filesystems -a k4.qcow2 --parts --long --no-title > k4.out 2> k4.err
  printf '/dev/sda1 partition %s /dev/sda\n/dev/sda2 partition %s /dev/sda\n' \
    $((20 << 20)) $(( (k4end - k4start + 1) * 4096 )) > k4.want
  tr -s ' ' < k4.out > k4.got
  same_file k4.want k4.got "partitions of a 4 KiB-sector GPT"
  [ ! -s k4.err ] || fail "4K GPT stderr: $(cat k4.err)"
  dk cat -a k4.qcow2 -m /dev/sda2 /etc/hostname > k4cat.out
  same_file cat.want k4cat.out "cat on a 4 KiB-sector GPT"
  # Primary header damaged: the backup in the last 4 KiB is used.
  printf 'XXXXXXXX' | dd of=k4.raw bs=1 seek=$((4096 + 8)) conv=notrunc status=none
  dk filesystems -a k4.raw --format raw > k4b.out 2> k4b.err
  echo /dev/sda2 > k4b.want
  same_file k4b.want k4b.out "4 KiB GPT from the backup"
  grep -q 'primary GPT is damaged' k4b.err || fail "warning: $(cat k4b.err)"
fi
echo PASS
