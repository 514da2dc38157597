#!/bin/bash
# The write tools take the image lock: while qemu-io holds the guest's
# image, copy-in and tar-in fail with one "in use" line and the image stays
# byte-identical; the read tools (-U style shared opens) still work.
source "$DK_TESTLIB"
source "$(dirname "$0")/lib_guest.sh"
require mkfifo

mkdir -p src/etc; echo hi > src/etc/hostname
make_guest src g.qcow2
mkdir up; echo new > up/file
bsdtar_or_tar=$(command -v bsdtar || command -v tar)
"$bsdtar_or_tar" -cf up.tar -C up .

rm -f hold.fifo; mkfifo hold.fifo
qemu-io -f qcow2 g.qcow2 <hold.fifo >/dev/null 2>&1 &
HOLDER=$!
exec 9>hold.fifo
trap 'exec 9>&- 2>/dev/null; kill $HOLDER 2>/dev/null || true; rm -rf "$T"' EXIT
for _ in $(seq 50); do qemu-img info g.qcow2 >/dev/null 2>&1 || break; sleep 0.1; done
sum=$(sha256sum < g.qcow2)

for cmd in "copy-in -a g.qcow2 -m /dev/sda1 up /" "tar-in -a g.qcow2 -m /dev/sda1 up.tar /"; do
  # shellcheck disable=SC2086
  expect_clean_error "$DISKIT" $cmd
  grep -qi 'in use' "$T/ece.err" || fail "'$cmd': message does not say in use: $(cat "$T/ece.err")"
done
[ "$(sha256sum < g.qcow2)" = "$sum" ] || fail "a refused write tool changed the image"
# Readers share the image.
dk cat -a g.qcow2 -m /dev/sda1 /etc/hostname > h.out
[ "$(cat h.out)" = hi ] || fail "cat while held: $(cat h.out)"
echo quit >&9; exec 9>&-; wait "$HOLDER" || true
dk copy-in -a g.qcow2 -m /dev/sda1 up / || fail "copy-in after the holder quit"
echo PASS
