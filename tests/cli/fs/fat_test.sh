#!/bin/bash
# FAT12/16/32 guests built with mkfs.vfat and mtools from a source tree
# (long names, mixed case, nested directories, a file of several MiB, an
# empty file): ls -R, ls -l, cat and filesystems must show the tree and what
# blkid says; a FAT32 partition in a qcow2 disk too. Damaged FAT chains and
# a directory cycle give one-line errors. The images are never modified.
source "$DK_TESTLIB"
require mkfs.vfat; require mcopy; require blkid; require python3; require_qemu; require sfdisk
export TZ=UTC MTOOLS_SKIP_CHECK=1

mkdir -p "tree/Program Files/Some Vendor/Sub.Dir" tree/lower/deeper tree/UPPER tree/EmptyDir
echo hello > tree/README.TXT
echo "lowercase 8.3" > tree/readme.txt.bak
echo short > tree/lower/file.c
echo "a long name" > "tree/Program Files/Some Vendor/A rather long file name, with commas.markdown"
echo deep > "tree/Program Files/Some Vendor/Sub.Dir/MiXeD.CaSe"
echo "ünïcödé" > "tree/UPPER/ünïcödé ñame.txt"
head -c 5000000 /dev/urandom > tree/lower/deeper/big.bin
: > tree/lower/empty
for i in $(seq 1 60); do echo "$i" > "tree/lower/deeper/many file $i.txt"; done

mkimg() {  # mkimg BITS SIZE_KIB IMG LABEL SERIAL
  mkfs.vfat -C -F "$1" -n "$4" -i "$5" "$3" "$2" >/dev/null
  (cd tree && mcopy -s -m -i "../$3" ./* ::/)
}
mkimg 12 8192 f12.img FAT12LAB 12121212
mkimg 16 20480 f16.img FAT16LAB 16161616
mkimg 32 40960 f32.img "FAT 32" 32323232
qemu-img convert -O qcow2 f16.img f16.qcow2
# FAT32 as the second partition of an MBR disk, in qcow2.
truncate -s 50M disk.raw
printf 'label: dos\n,4M,L\n,,c\n' | sfdisk -q disk.raw
dd if=f32.img of=disk.raw bs=512 seek=10240 conv=notrunc status=none
qemu-img convert -O qcow2 disk.raw disk.qcow2
sums_before=$(md5sum f12.img f16.qcow2 disk.qcow2)

(cd tree && find . -mindepth 1 | sed 's|^\.||') | LC_ALL=C sort > lsr.want
(cd tree && find . -type f | LC_ALL=C sort) > files
for spec in "f12.img /dev/sda" "f16.qcow2 /dev/sda" "disk.qcow2 /dev/sda2"; do
  set -- $spec
  dk ls -a "$1" -m "$2" -R / | LC_ALL=C sort > lsr.out
  same_file lsr.want lsr.out "ls -R / of $1"
  # cat of every file, in one call, is the tree's bytes.
  mapfile -t paths < <(sed 's|^\.||' files)
  dk cat -a "$1" -m "$2" "${paths[@]}" > cat.out
  (cd tree && while IFS= read -r f; do cat "$f"; done < ../files) > cat.want
  same_file cat.want cat.out "cat of every file in $1"
done

# ls of one directory and ls -l: vfat's default modes (0755; read-only attribute: 0555).
dk ls -a f16.qcow2 -m /dev/sda "/Program Files/Some Vendor" > ls.out
printf 'A rather long file name, with commas.markdown\nSub.Dir\n' > ls.want
same_file ls.want ls.out "ls of a long-named directory"
mattrib -i f12.img +r ::/README.TXT
dk ls -a f12.img -m /dev/sda -l / > lsl.out
grep -qE '^- 0555 +6 /README.TXT$' lsl.out || fail "read-only file: $(cat lsl.out)"
grep -qE '^d 0755 +[0-9]+ /lower$' lsl.out || fail "directory: $(cat lsl.out)"
grep -qE '^- 0755 +14 /readme.txt.bak$' lsl.out || fail "file: $(cat lsl.out)"
dk ls -a disk.qcow2 -m /dev/sda2 -l /lower/deeper > lsl2.out
grep -qE '^- 0755 +5000000 /lower/deeper/big.bin$' lsl2.out || fail "big file: $(cat lsl2.out)"

# filesystems: label and UUID as blkid prints them.
for img in f12.img f16.img; do
  dk filesystems -a "$img" --long --uuid --no-title > fsl.out
  label=$(blkid -p -o value -s LABEL "$img"); uuid=$(blkid -p -o value -s UUID "$img")
  grep -qE "^/dev/sda +filesystem +vfat +$label +[0-9]+ +- +$uuid\$" fsl.out || fail "$img: $(cat fsl.out) vs $label $uuid"
done
dk filesystems -a disk.qcow2 --output=json > fs.json
uuid32=$(blkid -p -o value -s UUID f32.img)
python3 - fs.json "$uuid32" <<'PY' || fail "JSON: $(cat fs.json)"
import json, sys
d = json.load(open(sys.argv[1]))
assert [x["device"] for x in d] == ["/dev/sda2"], d
assert d[0]["type"] == "vfat" and d[0]["label"] == "FAT 32" and d[0]["uuid"] == sys.argv[2], d
PY
# Inspection-free mount: a lone FAT file system is found with -m only.
dk cat -a disk.qcow2 -m /dev/sda2 /readme.txt.bak > one.out
same_file tree/readme.txt.bak one.out "cat of an 8.3 lowercase name"

# Damage: a loop in big.bin's chain, a link past the last cluster, a directory cycle.
read -r first _ < <(mshowfat -i f16.img ::/lower/deeper/big.bin | sed 's/.*<\([0-9]*\).*/\1 x/')
python3 - f16.img "$first" <<'PY'
import struct, sys
p, first = sys.argv[1], int(sys.argv[2])
d = bytearray(open(p, 'rb').read())
bps, spc, res, fats = struct.unpack_from('<HBHB', d, 11); fatsz = struct.unpack_from('<H', d, 22)[0]
def setfat(c, v):
    for i in range(fats):
        struct.pack_into('<H', d, (res + i * fatsz) * bps + 2 * c, v)
setfat(first + 5, first + 1)
open('loop.img', 'wb').write(d)
setfat(first + 5, 0xfff0)
open('range.img', 'wb').write(d)
PY
expect_clean_error "$DISKIT" cat -a loop.img -m /dev/sda /lower/deeper/big.bin
grep -q "loops" "$T/ece.err" || fail "loop: $(cat "$T/ece.err")"
expect_clean_error "$DISKIT" cat -a range.img -m /dev/sda /lower/deeper/big.bin
grep -q "out of range" "$T/ece.err" || fail "range: $(cat "$T/ece.err")"
read -r lower _ < <(mshowfat -i f16.img ::/lower | sed 's/.*<\([0-9]*\).*/\1 x/')
python3 - f16.img "$lower" <<'PY'
import sys
p, lower = sys.argv[1], int(sys.argv[2])
d = bytearray(open(p, 'rb').read())
i = d.find(b'DEEPER     \x10')
assert i > 0
d[i + 26:i + 28] = lower.to_bytes(2, 'little')
open('cycle.img', 'wb').write(d)
PY
expect_clean_error "$DISKIT" ls -a cycle.img -m /dev/sda -R /
grep -q "cycle" "$T/ece.err" || fail "cycle: $(cat "$T/ece.err")"
printf 'garbage' | dd of=f12.img bs=1 seek=11 conv=notrunc status=none  # bytes per sector
expect_clean_error "$DISKIT" ls -a f12.img -m /dev/sda /

[ "$(md5sum f16.qcow2 disk.qcow2)" = "$(echo "$sums_before" | tail -2)" ] || fail "an image changed"
echo PASS
