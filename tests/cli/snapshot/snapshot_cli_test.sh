# snapshot: command line, listing and error behaviour match qemu-img 7.2
# (same stdout, same stderr with the program prefix swapped, same status).
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu

# both NAME ARGS...: runs `snapshot ARGS` with qemu-img on want.* copies and
# diskit on got.* copies of the images in the current directory (the image
# names in ARGS use the prefix @), then compares the outputs.
both() {
  local name=$1; shift
  local wa=() ga=() a
  for a in "$@"; do wa+=("${a//@/want.}"); ga+=("${a//@/got.}"); done
  capture "$name.want" qemu-img snapshot "${wa[@]}"
  capture "$name.got" dk snapshot "${ga[@]}"
  same_file "$name.want.rc" "$name.got.rc" "exit status of snapshot $*"
  sed 's/want\./got./g' "$name.want.out" >"$name.want.out2"
  same_file "$name.want.out2" "$name.got.out" "stdout of snapshot $*"
  # qemu-img's usage errors add a "Try 'qemu-img --help'" line; diskit's its own.
  sed -e '/^Try .qemu-img --help/d' -e 's/want\./got./g' -e 's/^qemu-img: /diskit: snapshot: /' \
    "$name.want.err" >"$name.want.err2"
  grep -v "^Try 'diskit" "$name.got.err" >"$name.got.err2" || true
  same_file "$name.want.err2" "$name.got.err2" "stderr of snapshot $*"
}

# Fresh pairs of images.
mk() {
  local base=$1; shift
  rm -f "want.$base" "got.$base"
  "$@" "want.$base"
  cp "want.$base" "got.$base"
}

mk e.qcow2 qemu-img create -q -f qcow2 -o size=1M
mk s.qcow2 qemu-img create -q -f qcow2 -o size=4M
qemu-io -c 'write -P 1 0 64k' want.s.qcow2 >/dev/null
qemu-img snapshot -c first want.s.qcow2
qemu-img snapshot -c second want.s.qcow2
qemu-img snapshot -c 1 want.s.qcow2
cp want.s.qcow2 got.s.qcow2
mk r.raw qemu-img create -q -f raw -o size=1M
mk v.vmdk qemu-img create -q -f vmdk -o size=1M

both list-empty -l @e.qcow2
both list -l @s.qcow2
both list-q -q -l @s.qcow2
both list-U -U -l @s.qcow2
both noaction @s.qcow2
both list-raw -l @r.raw
both list-vmdk -l @v.vmdk
both create-raw -c x @r.raw
both apply-raw -a x @r.raw
both delete-raw -d x @r.raw
both create-vmdk -c x @v.vmdk
both apply-vmdk -a x @v.vmdk
both delete-vmdk -d x @v.vmdk
both apply-missing -a nope @s.qcow2
both delete-missing -d nope @s.qcow2
both delete-by-id -d 2 @s.qcow2          # delete looks names up only
both mix -l -c x @s.qcow2
both noname
both twonames -l @s.qcow2 @e.qcow2
both badopt -x @s.qcow2
# (the inner "could not open" of the file layer is lower case in diskit)
capture nofile dk snapshot -l nonexistent.qcow2
[ "$(cat nofile.rc)" = 1 ] || fail "missing file: exit $(cat nofile.rc)"
grep -qx "diskit: snapshot: Could not open 'nonexistent.qcow2': could not open 'nonexistent.qcow2': No such file or directory" \
  nofile.err || fail "missing file: $(cat nofile.err)"
both U-write -U -c x @s.qcow2

# info shows the same snapshot table.
capture info.want qemu-img info want.s.qcow2
capture info.got dk info got.s.qcow2
sed -n '/^Snapshot list:/,/^Format specific/p' info.want.out >info.want.snap
sed -n '/^Snapshot list:/,/^Format specific/p' info.got.out >info.got.snap
same_file info.want.snap info.got.snap "info's snapshot table"

# An external data file cannot have internal snapshots.
rm -f want.d.qcow2 want.d.raw got.d.qcow2 got.d.raw
qemu-img create -q -f qcow2 -o data_file=want.d.raw want.d.qcow2 1M
qemu-img create -q -f qcow2 -o data_file=got.d.raw got.d.qcow2 1M
both create-datafile -c x @d.qcow2
echo ok
