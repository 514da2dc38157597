#!/bin/bash
# vdi against qemu-img/qemu-io 7.2: images qemu makes read byte-identical,
# images diskit makes pass `qemu-img check`/`compare`, info and map JSON
# match, and malformed images fail cleanly.
source "$DK_TESTLIB"
require qemu-img
require qemu-io
require python3

# same_raw IMG: diskit and qemu-img convert IMG to the same raw bytes.
same_raw() {
  dk convert -f vdi -O raw "$1" dk.raw
  qemu-img convert -f vdi -O raw "$1" q.raw
  cmp dk.raw q.raw || fail "raw conversion of $1 differs"
}

# same_meta IMG: info and map JSON equal qemu-img's.
same_meta() {
  dk info --output=json "$1" >dk.json
  qemu-img info --output=json "$1" >q.json
  same_json dk.json q.json
  dk map --output=json "$1" >dk.json
  qemu-img map --output=json "$1" >q.json
  same_json dk.json q.json
}

qemu_writes() {
  qemu-io -f vdi -c 'write -P 0x11 1000 3000' -c 'write -P 0x22 1048000 2000' \
    -c 'write -z 2097152 65536' -c 'write -P 0x33 3145728 1048576' \
    -c 'write -P 0x44 5241856 512' "$1" >/dev/null
}

# --- images qemu-img creates and qemu-io writes ---
for mode in off on; do
  qemu-img create -q -f vdi -o static=$mode q-$mode.vdi 5M
  same_raw q-$mode.vdi
  same_meta q-$mode.vdi
  qemu_writes q-$mode.vdi
  same_raw q-$mode.vdi
  same_meta q-$mode.vdi
  # probing picks vdi
  dk info q-$mode.vdi | grep -q '^file format: vdi$' || fail "probe of q-$mode.vdi"
done
qemu-img create -q -f vdi odd.vdi 1000
same_raw odd.vdi
same_meta odd.vdi
qemu-img create -q -f vdi empty.vdi 0
same_meta empty.vdi

# --- images diskit creates ---
dk create -f vdi d.vdi 5M >out.txt
grep -q "^Formatting 'd.vdi', fmt=vdi size=5242880 static=off$" out.txt || fail "$(cat out.txt)"
dk create -f vdi -o static=on s.vdi 5M >/dev/null
for img in d.vdi s.vdi; do
  qemu-img check -f vdi "$img" >/dev/null || fail "qemu-img check $img"
  same_meta "$img"
  qemu_writes "$img"
  qemu-img check -f vdi "$img" >/dev/null || fail "qemu-img check $img after qemu-io"
  same_raw "$img"
  same_meta "$img"
done
dk create -f vdi -o help >help.txt
qemu-img create -f vdi -o help >qhelp.txt
diff help.txt qhelp.txt || fail "create -o help differs"

# --- convert raw -> vdi ---
python3 - <<'PY'
import random
random.seed(7)
with open("src.raw", "wb") as f:
    f.truncate(9 * 1024 * 1024 + 4096)
    for off in (0, 123456, 3 * 1048576 + 17, 8 * 1048576):
        f.seek(off)
        f.write(bytes(random.randrange(256) for _ in range(70000)))
PY
for mode in off on; do
  # (-o before -f: diskit convert's -o currently swallows the positional arguments)
  dk convert -O vdi -o static=$mode -f raw src.raw c-$mode.vdi
  qemu-img check -f vdi c-$mode.vdi >/dev/null || fail "qemu-img check c-$mode.vdi"
  qemu-img compare -f raw -F vdi src.raw c-$mode.vdi >/dev/null || fail "compare c-$mode.vdi"
  same_meta c-$mode.vdi
done
qemu-img convert -f raw -O vdi src.raw qc.vdi
dk map --output=json c-off.vdi >dk.json
qemu-img map --output=json qc.vdi | sed 's/"offset": [0-9]*/"offset": 0/g' >q.json
sed -i 's/"offset": [0-9]*/"offset": 0/g' dk.json
same_json dk.json q.json
dk compare c-off.vdi qc.vdi >/dev/null || fail "diskit compare c-off.vdi qc.vdi"

# --- a VirtualBox-style layout: 1.1+ header, map and data aligned to 1 MiB,
#     blocks out of order, a discarded (zero) block ---
python3 - <<'PY'
import os, struct, uuid
MiB = 1 << 20
h = bytearray(512)
h[0:40] = b"<<< Oracle VM VirtualBox Disk Image >>>\n"
struct.pack_into("<IIIII", h, 0x40, 0xbeda107f, 0x00010001, 0x190, 1, 0)
struct.pack_into("<IIIIIII", h, 0x154, MiB, 2 * MiB, 0, 0, 0, 512, 0)
struct.pack_into("<QIIII", h, 0x170, 5 * MiB, MiB, 0, 5, 2)
h[0x188:0x198] = uuid.uuid4().bytes_le
h[0x198:0x1a8] = uuid.uuid4().bytes_le
with open("vbox.vdi", "wb") as f:
    f.write(h)
    f.seek(MiB)
    f.write(struct.pack("<5I", 1, 0xffffffff, 0xffffffff, 0, 0xfffffffe))
    f.seek(2 * MiB)
    f.write(bytes([0x5a]) * MiB + bytes(range(256)) * 4096)
PY
same_raw vbox.vdi
same_meta vbox.vdi
qemu_writes vbox.vdi
same_raw vbox.vdi
same_meta vbox.vdi

# --- malformed images: a clean error (exit 1), never a crash ---
# patch IMG OFFSET FORMAT VALUE: overwrites one little-endian field.
patch() {
  python3 - "$@" <<'PY'
import struct, sys
path, off, fmt, val = sys.argv[1], int(sys.argv[2], 0), sys.argv[3], int(sys.argv[4], 0)
with open(path, "r+b") as f:
    f.seek(off); f.write(struct.pack("<" + fmt, val))
PY
}
bad_case() {  # bad_case NAME EXPECTED-TEXT OFFSET FMT VALUE [OFFSET FMT VALUE...]
  local name=$1 text=$2; shift 2
  cp q-off.vdi "$name.vdi"
  while [ $# -gt 0 ]; do patch "$name.vdi" "$1" "$2" "$3"; shift 3; done
  set -- "$name" "$text"
  set +e; dk info -f vdi "$1.vdi" >/dev/null 2>err.txt; rc=$?; set -e
  [ "$rc" = 1 ] || fail "$1: exit $rc ($(cat err.txt))"
  grep -q "$2" err.txt || fail "$1: unexpected message: $(cat err.txt)"
}
bad_case sig "bad signature" 0x40 I 0x12345678
bad_case ver "version 2.0" 0x44 I 0x00020000
bad_case bsize "block size 4096 is not 1048576" 0x178 I 4096
bad_case dsize "Unsupported VDI image size" 0x170 Q 0x7fffffffffffffff
bad_case room "image bitmap has room" 0x170 Q 0x10000000
bad_case blocks "overlaps the data area" 0x180 I 100000000
bad_case bmapoff "beyond the end of the file" 0x154 I 0x7ffffe00 0x158 I 0xfffffe00
bad_case dataoff "data offset" 0x158 I 0x40000000
bad_case range "points to data block 4000" 0x204 I 4000
cp q-off.vdi dup.vdi
# q-off.vdi's blocks 0..2 and 5 are allocated; make block 1 reuse block 0's data.
idx0=$(python3 -c 'import struct;f=open("dup.vdi","rb");f.seek(0x200);print(struct.unpack("<I",f.read(4))[0])')
patch dup.vdi 0x204 I "$idx0"
expect_status 1 dk info dup.vdi 2>err.txt
grep -q "both use data block $idx0" err.txt || fail "duplicate not named: $(cat err.txt)"
python3 -c 'open("short.vdi","wb").write(open("q-off.vdi","rb").read()[:300])'
expect_status 1 dk info -f vdi short.vdi 2>/dev/null
echo OK
