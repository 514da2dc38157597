# check on qed, vdi, vmdk and raw matches qemu-img check: exit status,
# human and JSON report and diagnostics, on clean and damaged images.
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu
require python3

# same_check FMT NAME ARGS...: `check -f FMT ARGS img.FMT` in want/
# (qemu-img) and got/ (diskit) agree on exit status, stdout and stderr.
same_check() {
  local fmt=$1 name=$2; shift 2
  (cd want && capture ../want qemu-img check -f "$fmt" "$@" "img.$fmt")
  (cd got && capture ../got "$DISKIT" check -f "$fmt" "$@" "img.$fmt")
  same_file want.rc got.rc "exit status of check $* ($fmt $name)"
  same_file want.out got.out "stdout of check $* ($fmt $name)"
  sed 's/^qemu-img: /diskit: check: /' want.err >want.err2
  same_file want.err2 got.err "stderr of check $* ($fmt $name)"
}

# case_ FMT NAME [PYTHON]: base.FMT, changed by the python snippet (which
# gets the open file as f and its size as size), checked by both tools,
# then repaired with -r all by both and compared again.
case_() {
  local fmt=$1 name=$2 py=${3:-}
  rm -rf want got && mkdir want got
  cp "base.$fmt" "want/img.$fmt"
  if [ -n "$py" ]; then
    python3 - "want/img.$fmt" <<PY
import struct, sys
f = open(sys.argv[1], "r+b")
f.seek(0, 2); size = f.tell()
def rd(off, fmt):
    f.seek(off); return struct.unpack(fmt, f.read(struct.calcsize(fmt)))[0]
def wr(off, fmt, v):
    f.seek(off); f.write(struct.pack(fmt, v))
$py
PY
  fi
  cp "want/img.$fmt" "got/img.$fmt"
  same_check "$fmt" "$name"
  same_check "$fmt" "$name" --output=json
  same_check "$fmt" "$name" -r all
  same_check "$fmt" "$name" --output=json
}

# qed: a leak (a cluster appended), a data cluster past the end of the file.
qemu-img create -q -f qed base.qed 16M
qemu-io -f qed -c 'write -P 1 0 1M' -c 'write -P 2 5M 64k' base.qed >/dev/null
case_ qed clean
case_ qed leak 'f.truncate(size + rd(4, "<I"))'
case_ qed dataeof '
cs = rd(4, "<I"); l1 = rd(40, "<Q"); l2 = rd(l1, "<Q")
wr(l2, "<Q", size + 16 * cs)'

# vdi: the header's allocated block count is wrong (repair unsupported: 63).
qemu-img create -q -f vdi base.vdi 16M
qemu-io -f vdi -c 'write -P 1 0 3M' base.vdi >/dev/null
case_ vdi clean
case_ vdi count 'wr(0x184, "<I", 7)'

# vmdk: monolithicSparse, streamOptimized and monolithicFlat; a grain
# table entry pointing past the end of the file.
for sub in monolithicSparse streamOptimized monolithicFlat; do
  qemu-img create -q -f vmdk -o subformat=$sub base.vmdk 16M
  [ $sub = streamOptimized ] || qemu-io -f vmdk -c 'write -P 1 0 1M' base.vmdk >/dev/null
  case_ vmdk "$sub clean"
done
qemu-img create -q -f vmdk base.vmdk 16M
qemu-io -f vmdk -c 'write -P 1 0 1M' base.vmdk >/dev/null
case_ vmdk grain-eof '
gd = rd(56, "<Q") * 512; gt = rd(gd, "<I") * 512
wr(gt + 4, "<I", size // 512 + 4096)'

# raw has no check: 63.
qemu-img create -q -f raw base.raw 1M
case_ raw raw
echo OK
