# A larger overlay grows BASE, and a longer image below BASE must not show
# through the grown area (the overlay read zeroes there): BASE matches what
# qemu-img commit leaves, with and without -b.
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu

mkdir o
qemu-img create -q -f qcow2 o/a.qcow2 8M
qemu-io -c 'write -P 1 0 8M' o/a.qcow2 >/dev/null
qemu-img create -q -f qcow2 -b a.qcow2 -F qcow2 o/b.qcow2 4M
qemu-io -c 'write -P 4 3M 64k' o/b.qcow2 >/dev/null
qemu-img create -q -f qcow2 -b b.qcow2 -F qcow2 o/c.qcow2 8M
qemu-io -c 'write -P 2 0 64k' -c 'write -P 3 5M 64k' o/c.qcow2 >/dev/null

for base in b a; do
  rm -rf want got; cp -r o want; cp -r o got
  args=(); [ "$base" = b ] || args=(-b a.qcow2)
  qemu-img commit -q "${args[@]}" want/c.qcow2
  dk commit -q "${args[@]}" got/c.qcow2
  same_content want/$base.qcow2 got/$base.qcow2
  [ "$(qemu-img info --output=json got/$base.qcow2 | grep '"virtual-size"')" = \
    "$(qemu-img info --output=json want/$base.qcow2 | grep '"virtual-size"')" ] || fail "size of $base differs"
  same_content o/c.qcow2 got/c.qcow2
  check_clean got/$base.qcow2 qcow2
  check_clean got/c.qcow2 qcow2
done
echo ok
