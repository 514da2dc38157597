# refcount_bits round trips: every width 1..64 reached from 16 and chained
# through all widths, with snapshots (refcounts of 2 and more) and a
# compressed cluster; after each step qemu-img agrees on the width, check
# is clean and the guest content and snapshots are unchanged.
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu

make_image() {
  rm -f "$1"
  qemu-img create -q -f qcow2 "$1" 8M
  qemu-io -c 'write -P 1 0 1M' -c 'write -c -P 2 2M 64k' -c 'write -z 3M 64k' "$1" >/dev/null
}
width() {
  qemu-img info --output=json "$1" | python3 -c 'import json,sys;print(json.load(sys.stdin)["format-specific"]["data"]["refcount-bits"])'
}
same_as_orig() {
  qemu-img compare -q orig.qcow2 "$1" || fail "guest content changed ($2)"
  check_clean "$1" qcow2
}

# From 16 to each width, each compared with qemu-img's result.
make_image orig.qcow2
for b in 1 2 4 8 32 64; do
  cp orig.qcow2 got.qcow2
  cp orig.qcow2 want.qcow2
  dk amend -o refcount_bits=$b got.qcow2
  qemu-img amend -o refcount_bits=$b want.qcow2
  [ "$(width got.qcow2)" = "$b" ] || fail "refcount bits $(width got.qcow2), wanted $b"
  same_as_orig got.qcow2 "16 -> $b"
  # Both tools still write correctly through the new width.
  qemu-io -c "write -P 9 4M 128k" got.qcow2 >/dev/null
  qemu-io -c "write -P 9 4M 128k" want.qcow2 >/dev/null
  qemu-img compare -q want.qcow2 got.qcow2 || fail "content after writes differs at $b bits"
  check_clean got.qcow2 qcow2
done

# A chain through every width, with snapshots sharing clusters (refcount 3).
make_image orig.qcow2
qemu-img snapshot -c s1 orig.qcow2
qemu-img snapshot -c s2 orig.qcow2
qemu-io -c 'write -P 7 1M 64k' orig.qcow2 >/dev/null
cp orig.qcow2 chain.qcow2
for b in 64 32 8 4 2 16 2 4 8 32 64 16; do
  dk amend -o refcount_bits=$b chain.qcow2
  [ "$(width chain.qcow2)" = "$b" ] || fail "chain: refcount bits $(width chain.qcow2), wanted $b"
  same_as_orig chain.qcow2 "chain to $b"
done
for s in s1 s2; do
  qemu-img convert -O raw -l "snapshot.name=$s" orig.qcow2 a.raw
  qemu-img convert -O raw -l "snapshot.name=$s" chain.qcow2 b.raw
  cmp -s a.raw b.raw || fail "snapshot $s changed by the refcount width chain"
done
# Refcounts of 3 do not fit in 1 bit: refused as qemu-img does, image untouched.
cp chain.qcow2 before.qcow2
capture got dk amend -o refcount_bits=1 chain.qcow2
capture want qemu-img amend -o refcount_bits=1 before.qcow2
sed 's/^qemu-img: /diskit: amend: /' want.err >want.err2
same_file want.rc got.rc "exit status of a refused width decrease"
same_file want.err2 got.err "message of a refused width decrease"
[ "$(width chain.qcow2)" = 16 ] || fail "refused decrease changed the width"
same_as_orig chain.qcow2 "refused decrease"

# The file does not grow without bound over a round trip: the old blocks
# and table are freed and reused.
make_image rt.qcow2
for i in 1 2 3; do dk amend -o refcount_bits=64 rt.qcow2; dk amend -o refcount_bits=16 rt.qcow2; done
end=$(qemu-img check --output=json rt.qcow2 | python3 -c 'import json,sys;print(json.load(sys.stdin)["image-end-offset"])')
[ "$end" -le $((2 * 1024 * 1024)) ] || fail "image end offset $end after round trips"
echo ok
