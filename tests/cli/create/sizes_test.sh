# Size arguments with suffixes (and -o size=) give the same virtual size and
# the same "Formatting" line as qemu-img, for raw and qcow2.
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu
sizes=(0 1 511 512 100000 1b 1k 1K 3k 1M 1.5M 2G 1T 1P 0.5k 1024k)
for fmt in raw qcow2; do
  for s in "${sizes[@]}"; do
    # raw images with huge sizes are sparse files; qcow2 ones are tiny.
    rm -f a; capture want qemu-img create -f $fmt a "$s"
    want_size=
    [ "$(cat want.rc)" = 0 ] && want_size=$(qemu-img info --output=json -f $fmt a | grep '"virtual-size"')
    rm -f a; capture got dk create -f $fmt a "$s"
    same_file want.rc got.rc "exit status of create -f $fmt a $s"
    same_file want.out got.out "stdout of create -f $fmt a $s"
    if [ -n "$want_size" ]; then
      got_size=$(qemu-img info --output=json -f $fmt a | grep '"virtual-size"')
      [ "$got_size" = "$want_size" ] || fail "create -f $fmt a $s: $got_size, expected $want_size"
    fi
  done
  rm -f a; capture want qemu-img create -f $fmt -o size=3M a
  rm -f a; capture got dk create -f $fmt -o size=3M a
  same_file want.out got.out "stdout of create -f $fmt -o size=3M"
done
rm -f a
echo ok
