# measure prints exactly what qemu-img measure prints (human and JSON) for
# new sizes, qcow2 creation options and input images of several shapes.
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu

same_measure() {
  capture want qemu-img measure "$@"
  capture got dk measure "$@"
  same_file want.rc got.rc "exit status of measure $*"
  same_file want.out got.out "measure $*"
}

qemu-img create -q -f qcow2 a.qcow2 10M
qemu-io -c 'write 0 1M' -c 'write -z 2M 1M' -c 'write 5000k 3k' a.qcow2 >/dev/null
qemu-img create -q -f qcow2 -b a.qcow2 -F qcow2 top.qcow2
qemu-io -c 'write 8M 64k' top.qcow2 >/dev/null
qemu-img create -q -f raw r.raw 3M
qemu-io -f raw -c 'write 1M 100k' r.raw >/dev/null
qemu-img create -q -f qcow2 -o cluster_size=4k e.qcow2 5M

for out in human json; do
  for size in 1M 1G 100G 12345678k; do
    same_measure --output=$out --size $size -O qcow2
    same_measure --output=$out --size $size -O raw
    same_measure --output=$out --size $size -O qcow2 -o cluster_size=512,refcount_bits=1
    same_measure --output=$out --size $size -O qcow2 -o cluster_size=2M,extended_l2=on
    same_measure --output=$out --size $size -O qcow2 -o preallocation=full
  done
  for img in a.qcow2 top.qcow2 r.raw e.qcow2; do
    same_measure --output=$out -O qcow2 $img
    same_measure --output=$out -O raw $img
    same_measure --output=$out -O qcow2 -o cluster_size=4k $img
    same_measure --output=$out -O qcow2 -o compat=0.10 $img
  done
done
capture want qemu-img measure
capture got dk measure
same_file want.rc got.rc "exit status of measure without arguments"
capture want qemu-img measure --size 1M a.qcow2
capture got dk measure --size 1M a.qcow2
same_file want.rc got.rc "exit status of measure --size with a file"
echo ok
