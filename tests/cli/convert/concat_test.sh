# `convert` with several sources concatenates them, like qemu-img: to raw
# (byte-identical) and to qcow2 (check-clean, content equal).
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu
qio() { qemu-io -f "$1" -c "$2" "$3" >/dev/null || fail "qemu-io $2 $3"; }
qemu-img create -q -f raw a.raw 1M && qio raw 'write -P 0x0a 1234 5000' a.raw
qemu-img create -q -f qcow2 b.qcow2 3000000 && qio qcow2 'write -P 0x0b 64k 100k' b.qcow2
qemu-img create -q -f qcow2 -o cluster_size=4k c.qcow2 2M && qio qcow2 'write -P 0x0c 0 2M' c.qcow2
qemu-img create -q -f raw d.raw 513 && printf 'tail' | dd of=d.raw bs=1 seek=509 conv=notrunc status=none
for srcs in "a.raw b.qcow2" "b.qcow2 a.raw c.qcow2" "a.raw a.raw" "c.qcow2 d.raw a.raw"; do
  # shellcheck disable=SC2086
  qemu-img convert -O raw $srcs want.raw
  # shellcheck disable=SC2086
  dk convert -O raw $srcs got.raw || fail "diskit convert $srcs failed"
  cmp want.raw got.raw || fail "concatenation of $srcs differs"
  rm -f got.qcow2
  # shellcheck disable=SC2086
  dk convert -O qcow2 $srcs got.qcow2 || fail "diskit convert -O qcow2 $srcs failed"
  check_clean got.qcow2 qcow2
  qemu-img compare -q -F raw got.qcow2 want.raw || fail "qcow2 concatenation of $srcs differs"
done
echo ok
