#!/bin/bash
# diskit serve, read side: a qcow2 chain read through NBD by qemu-img and
# libnbd's tools is byte-identical to the file, and block status shows the
# holes (so copies stay sparse).
. "$DK_TESTLIB"
. "$(dirname "${BASH_SOURCE[0]}")/serve_lib.sh"
require_qemu

qemu-img create -q -f raw base.raw 64M
qemu-io -f raw -c 'write -P 0x11 0 1M' -c 'write -P 0x22 10M 2M' -c 'write -P 0x44 40M 64k' base.raw >/dev/null
qemu-img create -q -f qcow2 -b base.raw -F raw top.qcow2
qemu-io -f qcow2 -c 'write -P 0x33 512k 1M' -c 'write -z 10M 64k' -c 'write -P 0x55 60M 1M' top.qcow2 >/dev/null
qemu-img convert -O raw top.qcow2 ref.raw

serve_start s --socket "$T/s.sock" -D "test image" top.qcow2
U=$(nbd_uri "$T/s.sock")
[ "$(stat -c %a "$T/s.sock")" = 600 ] || fail "socket mode is $(stat -c %a "$T/s.sock"), expected 600"

# qemu-img reads the whole chain.
qemu-img convert -O raw "$U" out.raw
same_file ref.raw out.raw "chain read through NBD"
qemu-img compare -q -U -f raw -F qcow2 "$U" top.qcow2 || fail "qemu-img compare over NBD differs"

# Block status: the holes of the chain (below 10M except the data, the
# zeroed cluster, the unwritten tail) are zero and not data over NBD.
qemu-img map --output=json "$U" >map.json
python3 - map.json <<'PY' || fail "qemu-img map over NBD: $(cat map.json)"
import json, sys
m = json.load(open(sys.argv[1]))
def at(off):
    return next(e for e in m if e["start"] <= off < e["start"] + e["length"])
M = 1 << 20
for off in (0, 512 * 1024, 10 * M + 64 * 1024, 40 * M, 60 * M):
    assert at(off)["data"] and not at(off)["zero"], off
for off in (2 * M, 10 * M, 20 * M, 50 * M, 63 * M):
    assert at(off)["zero"] and not at(off)["data"], off
assert sum(e["length"] for e in m) == 64 * M
PY

if command -v nbdinfo >/dev/null; then
  nbdinfo --map "$U" >nbdmap.txt
  grep -Eq '^ +0 +1572864 +0 +data$' nbdmap.txt || fail "nbdinfo --map: $(cat nbdmap.txt)"
  grep -Eq '^ +1572864 +8978432 +3 +hole,zero$' nbdmap.txt || fail "nbdinfo --map: $(cat nbdmap.txt)"
  nbdinfo --list "$U" >list.txt
  grep -q 'export="":' list.txt || fail "nbdinfo --list: $(cat list.txt)"
  grep -q 'description: test image' list.txt || fail "nbdinfo --list lacks the description: $(cat list.txt)"
  grep -q 'export-size: 67108864' list.txt || fail "nbdinfo --list: $(cat list.txt)"
  nbdinfo --size "$U" | grep -qx 67108864 || fail "nbdinfo --size"
  nbdcopy "$U" copy.raw
  same_file ref.raw copy.raw "nbdcopy of the export"
  # nbdcopy writes only data: the copy is sparse.
  [ "$(du -k copy.raw | cut -f1)" -lt 16384 ] || fail "nbdcopy copy is not sparse: $(du -k copy.raw)"
else
  echo "nbdinfo not installed (libnbd-bin): skipping the libnbd checks" >&2
fi

# A named export: the default name is refused then.
serve_start n --socket "$T/n.sock" -x disk1 --ro base.raw -f raw
qemu-img convert -O raw "$(nbd_uri "$T/n.sock" disk1)" base-out.raw
same_file base.raw base-out.raw "named export"
expect_status 1 qemu-img info "$(nbd_uri "$T/n.sock")" >/dev/null 2>&1
serve_stop n
serve_stop s
