#!/bin/bash
# FAT guests: copy-out of a vfat file system made with mkfs.vfat + mcopy
# gives back the files; copy-in to FAT then reads back with mtools and
# fsck.vfat -n is clean (modes and owners FAT cannot hold are not errors).
# Skips while diskit cannot open vfat.
source "$DK_TESTLIB"
require_qemu; require mkfs.vfat; require mcopy; require fsck.vfat

truncate -s 32M fat.img; mkfs.vfat -F 16 -n FATFS fat.img >/dev/null
mkdir -p src/Docs; echo "hello fat" > src/Docs/readme.txt; head -c 70000 /dev/urandom > "src/Long File Name.bin"
mcopy -s -i fat.img src/Docs "src/Long File Name.bin" ::/
qemu-img convert -O qcow2 fat.img f.qcow2
if ! dk ls -a f.qcow2 -m /dev/sda / >/dev/null 2>err.txt; then
  skip "diskit cannot open vfat yet (FAT support is not merged): $(head -1 err.txt)"
fi

mkdir out
dk copy-out -a f.qcow2 -m /dev/sda /Docs "/Long File Name.bin" out
cmp out/Docs/readme.txt src/Docs/readme.txt || fail "copy-out from FAT: readme"
cmp "out/Long File Name.bin" "src/Long File Name.bin" || fail "copy-out from FAT: long name"

if ! dk copy-in -a f.qcow2 -m /dev/sda src/Docs /Docs 2>err.txt; then
  grep -qiE 'read-only|not supported' err.txt && skip "diskit cannot write FAT yet: $(cat err.txt)"
  fail "copy-in to FAT: $(cat err.txt)"
fi
mkdir -p up/sub; echo one > up/sub/one.txt; chmod 600 up/sub/one.txt
dk copy-in -a f.qcow2 -m /dev/sda up /
qemu-img convert -O raw f.qcow2 back.img
fsck.vfat -n back.img > fsck.out 2>&1 || { cat fsck.out >&2; fail "fsck.vfat -n after copy-in"; }
mcopy -i back.img ::/up/sub/one.txt got.txt
cmp got.txt up/sub/one.txt || fail "mtools reads other bytes"
mcopy -i back.img ::/Docs/Docs/readme.txt got2.txt
cmp got2.txt src/Docs/readme.txt || fail "nested copy-in to FAT"
echo PASS
