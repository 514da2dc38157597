#!/bin/bash
# GPT disks: part-list, part-get-parttype, part-get-name, part-get-gpt-type,
# part-get-gpt-guid, list-filesystems with an empty partition ("unknown"),
# part-get-mbr-id refused on GPT, kernel-only commands refused cleanly.
source "$DK_TESTLIB"
require_qemu; require sgdisk; require mkfs.ext4

truncate -s 20M gpt.raw
sgdisk -n 1:2048:+8M -c 1:boot -t 1:8300 -u 1:11111111-2222-3333-4444-555555555555 \
       -n 2:0:0 -c 2:"my data" -t 2:0700 gpt.raw >/dev/null
mkfs.ext4 -q -F -L gptroot p1.img 8M >/dev/null
dd if=p1.img of=gpt.raw bs=1M seek=1 conv=notrunc status=none
qemu-img convert -O qcow2 gpt.raw gpt.qcow2

"$DISKIT" fish --ro -a gpt.qcow2 > g.out <<'CMDS'
run
part-get-parttype /dev/sda
part-list /dev/sda
part-get-name /dev/sda 2
part-get-gpt-type /dev/sda 1
part-get-gpt-guid /dev/sda 1
list-filesystems
vfs-label /dev/sda1
CMDS
end2=$(( $(sgdisk -i 2 gpt.raw | sed -n 's/^Last sector: \([0-9]*\).*/\1/p') ))
start2=$(( $(sgdisk -i 2 gpt.raw | sed -n 's/^First sector: \([0-9]*\).*/\1/p') ))
cat > g.want <<EOF2
gpt
[0] = {
  part_num: 1
  part_start: 1048576
  part_end: 9437183
  part_size: 8388608
}
[1] = {
  part_num: 2
  part_start: $((start2 * 512))
  part_end: $(((end2 + 1) * 512 - 1))
  part_size: $(((end2 - start2 + 1) * 512))
}
my data
0FC63DAF-8483-4772-8E79-3D69D8477DE4
11111111-2222-3333-4444-555555555555
/dev/sda1: ext4
/dev/sda2: unknown
gptroot
EOF2
same_file g.want g.out "GPT commands"

capture mbr "$DISKIT" fish --ro -a gpt.qcow2 run : part-get-mbr-id /dev/sda 1
grep -q "part-get-mbr-id can only be used on MBR partitions" mbr.err || fail "mbr-id on GPT: $(cat mbr.err)"
capture k "$DISKIT" fish --no-appliance -a gpt.qcow2 run : part-init /dev/sda gpt
[ "$(cat k.rc)" = 1 ] && grep -q "part-init: part-init needs the appliance" k.err || fail "part-init: $(cat k.err)"
