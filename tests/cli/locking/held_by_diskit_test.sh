# While diskit has an image open, qemu-io cannot open it for writing
# (diskit's locks are QEMU-compatible), and qemu-img -U can still read it.
# diskit is held open by giving the image a FIFO as backing file: opening
# the backing file blocks until the test writes to the FIFO.
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu
require mkfifo
mkfifo base.fifo
qemu-img create -q -f qcow2 -u -b base.fifo -F raw top.qcow2 4M
qemu-img create -q -f qcow2 other.qcow2 4M
DKPID=
trap 'exec 8>&- 2>/dev/null; [ -n "$DKPID" ] && kill $DKPID 2>/dev/null; rm -rf "$T"' EXIT
for cmd in "convert -O raw top.qcow2 out.raw" "info --backing-chain top.qcow2" \
           "compare top.qcow2 other.qcow2" "map top.qcow2"; do
  # shellcheck disable=SC2086
  timeout 20 "$DISKIT" $cmd >/dev/null 2>&1 &
  DKPID=$!
  sleep 1
  kill -0 "$DKPID" 2>/dev/null || skip "diskit $cmd did not block on a FIFO backing file; cannot hold it open"
  capture q qemu-io -f qcow2 -c 'write 0 4k' top.qcow2
  [ "$(cat q.rc)" = 1 ] || fail "qemu-io wrote into an image 'diskit $cmd' has open"
  grep -q 'lock' q.err || fail "qemu-io failed for another reason: $(cat q.err)"
  qemu-img info -U top.qcow2 >/dev/null 2>&1 || fail "qemu-img info -U failed while 'diskit $cmd' runs"
  # Release diskit: open and close the FIFO's write end.
  exec 8>base.fifo; exec 8>&-
  wait "$DKPID" || true
  DKPID=
done
# After diskit exits, qemu-io can write again.
qemu-io -f qcow2 -c 'write 0 4k' other.qcow2 >/dev/null || fail "other.qcow2 still locked"
echo ok
