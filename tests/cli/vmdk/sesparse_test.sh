#!/bin/bash
# seSparse (ESXi 6.5+) images, built by hand since no tool here writes them:
# diskit reads, maps and describes them as qemu-img 7.2 does, refuses
# writes, and fails cleanly on a broken header.
source "$DK_TESTLIB"
require qemu-img
require python3

# Const header at sector 0, volatile header at 1, grain directory at 2,
# two grain tables from sector 3, grains from sector 200.
python3 - <<'PY'
import struct
cap = 3 * 32768
img = bytearray(200 * 512 + 4 * 4096)
def put(off, v): struct.pack_into('<Q', img, off, v)
for i, v in enumerate([0xcafebabe, 0x200000001, cap, 8, 64, 0, 0, 0, 0, 0,
                       1, 1, 0, 0, 0, 0, 2, 1, 3, 128, 0, 0, 0, 0, 200, 64]):
    put(8 * i, v)
put(512, 0xcafecafe)
put(1024, 0x1000000000000001)       # GD[0] -> grain table 1
put(1024 + 8, 0x1000000000000000)   # GD[1] -> grain table 0
def gte(t, i, v): put((3 + 64 * t) * 512 + 8 * i, v)
def alloc(ix): return 0x3000000000000000 | ((ix & 0xfff) << 48) | (ix >> 12)
gte(1, 0, alloc(2)); gte(1, 1, alloc(3)); gte(1, 2, 0x2000000000000000)
gte(1, 3, 0x1000000000000000); gte(1, 5, alloc(1)); gte(0, 7, alloc(0))
for g in range(4):
    img[200 * 512 + g * 4096:200 * 512 + (g + 1) * 4096] = bytes([0x41 + g]) * 4096
open('s-sesparse.vmdk', 'wb').write(img)
open('s.vmdk', 'w').write('# Disk DescriptorFile\nversion=1\nCID=7a3f0c21\nparentCID=ffffffff\n'
    'createType="seSparse"\n\n# Extent description\nRW %d SESPARSE "s-sesparse.vmdk"\n\n'
    '# The Disk Data Base\n#DDB\n\nddb.virtualHWVersion = "14"\nddb.adapterType = "lsilogic"\n' % cap)
PY

dk convert -O raw s.vmdk d.raw
qemu-img convert -O raw s.vmdk q.raw
cmp d.raw q.raw || fail "seSparse reads differ from qemu-img"
dk info --output=json s.vmdk >d.json
qemu-img info --output=json s.vmdk >q.json
same_json d.json q.json
dk map --output=json s.vmdk >d.json
qemu-img map --output=json s.vmdk >q.json
same_json d.json q.json
# The header's capacity, not the descriptor's sector count, sizes the disk.
sed 's/RW 98304 /RW 2048 /' s.vmdk >small.vmdk
dk info --output=json small.vmdk >d.json
qemu-img info --output=json small.vmdk >q.json
same_json d.json q.json
dk compare s.vmdk q.raw >/dev/null || fail "compare"
dk convert -O qcow2 s.vmdk c.qcow2
same_content c.qcow2 q.raw

# Writes are refused (the image stays untouched).
cp s-sesparse.vmdk keep.bin
expect_status 1 dk convert -n -O vmdk q.raw s.vmdk 2>err.txt
grep -q "read-only" err.txt || fail "write message: $(cat err.txt)"
cmp keep.bin s-sesparse.vmdk || fail "extent modified"

# A broken volatile header magic: one-line error naming the extent file.
printf '\x00' | dd of=s-sesparse.vmdk bs=1 seek=512 conv=notrunc status=none
expect_status 1 dk info s.vmdk 2>err.txt
grep -q "s-sesparse.vmdk.*volatile header magic" err.txt || fail "bad magic message: $(cat err.txt)"
[ "$(wc -l <err.txt)" = 1 ] || fail "multi-line error"
echo OK
