# `convert -n` writes into an existing image (not recreated): the result
# equals qemu-img's conversion into a copy of the same target, byte for byte
# in raw terms, and a qcow2 target stays check-clean with its header kept.
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu
qio() { qemu-io -f "$1" -c "$2" "$3" >/dev/null || fail "qemu-io $2 $3"; }
qemu-img create -q -f qcow2 src.qcow2 4M
qio qcow2 'write -P 0x11 1234 5000' src.qcow2
qio qcow2 'write -z 1M 64k' src.qcow2
# Targets: raw and qcow2 (cluster 4k), both larger than the source and
# holding data where the source has zeroes/holes.
qemu-img create -q -f raw t.raw 6M && qio raw 'write -P 0xff 0 6M' t.raw
qemu-img create -q -f qcow2 -o cluster_size=4k t.qcow2 6M && qio qcow2 'write -P 0xff 0 6M' t.qcow2
for tfmt in raw qcow2; do
  for extra in "" "--target-is-zero" "-S 0"; do
    [ "$extra" = --target-is-zero ] && continue  # needs a zeroed target; done below
    cp "t.$tfmt" "want.$tfmt"; cp "t.$tfmt" "got.$tfmt"
    # shellcheck disable=SC2086
    qemu-img convert -n $extra -O "$tfmt" src.qcow2 "want.$tfmt"
    # shellcheck disable=SC2086
    dk convert -n $extra -O "$tfmt" src.qcow2 "got.$tfmt" || fail "diskit convert -n $extra -O $tfmt failed"
    qemu-img convert -f "$tfmt" -O raw "want.$tfmt" want.raw.out
    qemu-img convert -f "$tfmt" -O raw "got.$tfmt" got.raw.out
    cmp want.raw.out got.raw.out || fail "convert -n $extra into $tfmt differs from qemu-img's"
    if [ "$tfmt" = qcow2 ]; then
      check_clean got.qcow2 qcow2
      qemu-img info got.qcow2 | grep -q 'cluster_size: 4096' || fail "-n recreated the qcow2 target"
    fi
  done
done
# --target-is-zero onto a fresh (zero) target.
qemu-img create -q -f qcow2 z.qcow2 4M
dk convert -n --target-is-zero -O qcow2 src.qcow2 z.qcow2 || fail "convert -n --target-is-zero failed"
check_clean z.qcow2 qcow2
qemu-img compare -q src.qcow2 z.qcow2 || fail "--target-is-zero result differs"
# -n into a missing target is an error (exit 1).
capture want qemu-img convert -n -O raw src.qcow2 missing1.raw
capture got dk convert -n -O raw src.qcow2 missing2.raw
same_file want.rc got.rc "exit status of convert -n into a missing target"
# A target smaller than the source is an error too.
qemu-img create -q -f raw small.raw 1M
capture want qemu-img convert -n -O raw src.qcow2 small.raw
capture got dk convert -n -O raw src.qcow2 small.raw
same_file want.rc got.rc "exit status of convert -n into a small target"
echo ok
