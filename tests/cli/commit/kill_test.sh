# kill -9 during a commit, at several points: afterwards `qemu-img check
# -r all` repairs both images and the overlay still reads what it read
# before (data reaches BASE before the overlay drops it).
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu

qemu-img create -q -f qcow2 o-base.qcow2 48M
qemu-io -c 'write -P 1 0 48M' o-base.qcow2 >/dev/null
qemu-img create -q -f qcow2 -b o-base.qcow2 -F qcow2 o-top.qcow2
cmds=()
for i in $(seq 0 2 46); do cmds+=(-c "write -P $((i + 2)) ${i}M 1M" -c "write -z $((i + 1))M 256k"); done
qemu-io "${cmds[@]}" o-top.qcow2 >/dev/null
qemu-img convert -O raw o-top.qcow2 want.raw

# A commit takes ~0.15 s here (writeback) and ~0.3 s (writethrough).
for run in "writeback 0.01" "writeback 0.04" "writeback 0.08" "writeback 0.12" \
           "writethrough 0.05" "writethrough 0.15" "writethrough 0.25" "directsync 0.3"; do
  read -r cache delay <<<"$run"
  cp o-base.qcow2 base.qcow2; cp o-top.qcow2 top.qcow2
  qemu-img rebase -u -b base.qcow2 -F qcow2 top.qcow2
  "$DISKIT" commit -q -t "$cache" top.qcow2 &
  pid=$!
  sleep "$delay"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for f in base.qcow2 top.qcow2; do
    qemu-img check -q -r all "$f" >/dev/null 2>&1 || true
    check_clean "$f" qcow2
  done
  same_content top.qcow2 want.raw
done
echo ok
