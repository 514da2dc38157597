# resize matches qemu-img resize: same exit status, message, new size and
# guest data (qemu-img compare of the two results), and a clean check.
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu

# resize_case FMT CREATE_SIZE NEW_SIZE [OPTIONS...]: the same data-filled
# image resized by both tools ends up with the same status, messages, size
# and content.
resize_case() { local fmt=$1 size=$2 new=$3; shift 3; case_ "$fmt" "$size" "$@" -- "$new"; }
case_() {
  local fmt=$1 size=$2; shift 2
  local args=("$@") n=${#args[@]}
  local newsize=${args[$((n - 1))]}
  local opts=("${args[@]:0:$((n - 2))}")
  rm -f want.$fmt got.$fmt
  qemu-img create -q -f "$fmt" want.$fmt "$size"
  qemu-io -f "$fmt" -c 'write -P 0x5a 0 64k' -c "write -P 0x33 $((${size%M} * 1048576 - 65536)) 64k" \
    want.$fmt >/dev/null
  cp want.$fmt got.$fmt
  capture want qemu-img resize -f "$fmt" "${opts[@]}" want.$fmt -- "$newsize"
  capture got dk resize -f "$fmt" "${opts[@]}" got.$fmt -- "$newsize"
  same_file want.rc got.rc "exit status of resize $fmt ${opts[*]} $newsize"
  same_file want.out got.out "stdout of resize $fmt ${opts[*]} $newsize"
  sed 's/^qemu-img: warning:/diskit: warning:/; t; s/^qemu-img: /diskit: resize: /' want.err >want.err2
  same_file want.err2 got.err "stderr of resize $fmt ${opts[*]} $newsize"
  local a b
  a=$(qemu-img info -f "$fmt" --output=json want.$fmt | python3 -c 'import json,sys;print(json.load(sys.stdin)["virtual-size"])')
  b=$(qemu-img info -f "$fmt" --output=json got.$fmt | python3 -c 'import json,sys;print(json.load(sys.stdin)["virtual-size"])')
  [ "$a" = "$b" ] || fail "virtual size $b, qemu-img made $a ($fmt ${opts[*]} $newsize)"
  same_content -f "$fmt" -F "$fmt" want.$fmt got.$fmt
  [ "$fmt" = raw ] || check_clean got.$fmt "$fmt"
}

for fmt in raw qcow2; do
  resize_case "$fmt" 2M 4M
  resize_case "$fmt" 2M +3M
  resize_case "$fmt" 2M +1536k
  resize_case "$fmt" 4M -1M           # refused without --shrink
  resize_case "$fmt" 4M 1M            # refused without --shrink
  resize_case "$fmt" 4M -1M --shrink
  resize_case "$fmt" 4M 1536k --shrink
  resize_case "$fmt" 2M -5M --shrink  # "New image size must be positive"
  resize_case "$fmt" 2M 6M --preallocation=full
  resize_case "$fmt" 2M 6M --preallocation=falloc
  resize_case "$fmt" 4M 2M --shrink --preallocation=full
  resize_case "$fmt" 2M 3M --preallocation=bogus
  resize_case "$fmt" 2M 3M -q
done
resize_case qed 2M 5M

# qemu-img 7.2 cannot resize vdi or vmdk; diskit grows them. Check the
# result against the same data written into a fresh image of the new size.
for fmt in vdi vmdk; do
  qemu-img create -q -f $fmt g.$fmt 2M
  qemu-io -f $fmt -c 'write -P 0x5a 0 64k' -c 'write -P 0x33 1984k 64k' g.$fmt >/dev/null
  dk resize -q -f $fmt g.$fmt 5M
  qemu-img create -q -f raw g.raw 5M
  qemu-io -f raw -c 'write -P 0x5a 0 64k' -c 'write -P 0x33 1984k 64k' g.raw >/dev/null
  same_content -f $fmt -F raw g.$fmt g.raw
  check_clean g.$fmt $fmt
done

# A qcow2 shrink keeps the data before the new end and drops the rest.
qemu-img create -q -f qcow2 s.qcow2 4M
qemu-io -c 'write -P 1 0 1M' -c 'write -P 2 3M 1M' s.qcow2 >/dev/null
dk resize -q --shrink s.qcow2 2M
qemu-io -c 'read -P 1 0 1M' -c 'read -P 0 1M 1M' s.qcow2 | grep -q 'Pattern verification failed' &&
  fail "shrunk qcow2 lost data"
check_clean s.qcow2 qcow2
[ "$(qemu-img map --output=json s.qcow2 | python3 -c 'import json,sys;print(sum(e["length"] for e in json.load(sys.stdin) if e["data"]))')" = 1048576 ] ||
  fail "shrunk qcow2 keeps clusters past its end"

# A size argument starting with '-' after the file name works without "--".
qemu-img create -q -f raw n.raw 2M
dk resize -q -f raw --shrink n.raw -1M
[ "$(stat -c %s n.raw)" = 1048576 ] || fail "resize -1M did not shrink to 1M"
echo ok
