#!/bin/bash
# diskit serve, write side: qemu-io writes, zeroes and discards through NBD
# land in the qcow2 (qemu-img check clean after the server stops); --ro
# refuses writes with EPERM and leaves the file byte-identical.
. "$DK_TESTLIB"
. "$(dirname "${BASH_SOURCE[0]}")/serve_lib.sh"
require_qemu

qemu-img create -q -f raw base.raw 16M
qemu-io -f raw -c 'write -P 0x11 0 4M' base.raw >/dev/null
qemu-img create -q -f qcow2 -b base.raw -F raw top.qcow2
cp base.raw base.orig

serve_start w --socket "$T/w.sock" top.qcow2
U=$(nbd_uri "$T/w.sock")
qemu-io -f raw -c 'write -P 0xab 1M 64k' -c 'write -f -P 0xcd 2M 4k' -c 'write -z 3M 512k' \
  -c 'discard 8M 1M' -c 'flush' "$U" >qio.out || fail "qemu-io writes over NBD: $(cat qio.out)"
# Unaligned write (read-modify-write inside the format library).
qemu-io -f raw -c 'write -P 0xef 5000 3000' "$U" >/dev/null || fail "unaligned write over NBD"
# Out of range: the client reports an error, the server keeps serving.
expect_status 1 qemu-io -f raw -c 'write -P 0x1 16M 4k' "$U" >oor.out 2>&1
grep -qi 'error\|failed\|No space\|Input/output\|Invalid' oor.out || fail "write past the end: $(cat oor.out)"
qemu-io -f raw -c 'read -P 0xab 1M 64k' -c 'read -P 0 3M 512k' "$U" >/dev/null || fail "read back over NBD"
serve_stop w

check_clean top.qcow2 qcow2
same_file base.orig base.raw "backing file (must stay untouched)"
qemu-io -f qcow2 -c 'read -P 0xab 1M 64k' -c 'read -P 0xcd 2M 4k' -c 'read -P 0 3M 512k' \
  -c 'read -P 0x11 3584k 512k' -c 'read -P 0xef 5000 3000' -c 'read -P 0x11 0 5000' \
  top.qcow2 >/dev/null || fail "data written over NBD is not in the qcow2"

# nbdcopy into the export (writes, zeroes for the holes of the source).
if command -v nbdcopy >/dev/null; then
  qemu-img create -q -f qcow2 dst.qcow2 16M
  qemu-io -f qcow2 -c 'write -P 0x99 0 16M' dst.qcow2 >/dev/null
  qemu-img convert -O raw top.qcow2 src.raw
  serve_start c --socket "$T/c.sock" dst.qcow2
  nbdcopy src.raw "$(nbd_uri "$T/c.sock")"
  serve_stop c
  check_clean dst.qcow2 qcow2
  qemu-img compare -q -f raw -F qcow2 src.raw dst.qcow2 || fail "nbdcopy into the export differs"
fi

# --ro: writes, zeroes and discards fail with EPERM; the file is unchanged.
cp top.qcow2 top.before
serve_start r --socket "$T/r.sock" --ro top.qcow2
U=$(nbd_uri "$T/r.sock")
for cmd in 'write -P 0x1 0 4k' 'write -z 0 4k' 'discard 0 64k'; do
  set +e; qemu-io -f raw -c "$cmd" "$U" >ro.out 2>&1; set -e
  grep -q 'Operation not permitted\|read-only\|Permission denied' ro.out || fail "--ro '$cmd': $(cat ro.out)"
done
# libnbd sees the read-only flag.
if command -v nbdinfo >/dev/null; then
  nbdinfo "$U" | grep -q 'is_read_only: true' || fail "nbdinfo does not see a read-only export"
fi
qemu-io -f raw -r -c 'read -P 0xab 1M 64k' "$U" >/dev/null || fail "read from a --ro export"
# A read-only export takes a shared lock: other readers may open the image.
qemu-img info top.qcow2 >/dev/null || fail "qemu-img info cannot open an image served --ro"
serve_stop r
same_file top.before top.qcow2 "image served --ro"

# A writable export holds the image exclusively.
serve_start x --socket "$T/x.sock" top.qcow2
expect_status 1 qemu-io -c 'write 0 4k' top.qcow2 >/dev/null 2>&1
serve_stop x
