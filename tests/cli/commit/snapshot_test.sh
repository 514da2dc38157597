# Emptying a qcow2 overlay that has internal snapshots keeps the snapshots'
# clusters (shared L2 tables and data): the snapshot reads as it does after
# qemu-img commit, and both images check clean.
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu

source "$(dirname "${BASH_SOURCE[0]}")/commit_lib.sh" || exit 1

mkdir o
qemu-img create -q -f qcow2 o/base.qcow2 3M
qemu-io -c 'write -P 1 0 3M' o/base.qcow2 >/dev/null
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 o/top.qcow2
qemu-io -c 'write -P 3 0 1M' -c 'write -z 2M 64k' o/top.qcow2 >/dev/null
qemu-img snapshot -c s1 o/top.qcow2
qemu-io -c 'write -P 4 512k 1M' -c 'write -P 5 2500k 4k' o/top.qcow2 >/dev/null
qemu-img snapshot -c s2 o/top.qcow2
qemu-io -c 'write -P 6 0 64k' -c 'discard 768k 64k' o/top.qcow2 >/dev/null

cp -r o want; cp -r o got
qemu-img commit -q want/top.qcow2
dk commit -q got/top.qcow2
same_content want/base.qcow2 got/base.qcow2
same_content o/top.qcow2 got/top.qcow2
map_shape want/top.qcow2 >m.want; map_shape got/top.qcow2 >m.got
same_file m.want m.got "overlay map"
for s in s1 s2; do
  qemu-img convert -l snapshot.name=$s -O raw want/top.qcow2 want.$s.raw
  qemu-img convert -l snapshot.name=$s -O raw got/top.qcow2 got.$s.raw
  cmp want.$s.raw got.$s.raw || fail "snapshot $s reads differently after commit"
done
check_clean got/top.qcow2 qcow2
check_clean got/base.qcow2 qcow2
# Deleting the snapshots afterwards frees everything they held.
qemu-img snapshot -d s1 got/top.qcow2
qemu-img snapshot -d s2 got/top.qcow2
check_clean got/top.qcow2 qcow2
echo ok
