# rebase keeps the guest-visible content (qemu-img compare against the
# original), rewrites the header like qemu-img rebase, allocates the same
# ranges as qemu-img in safe mode, and fails with qemu-img's status.
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu

json_key() { python3 -c 'import json,sys;d=json.load(sys.stdin);print(d.get(sys.argv[1],""))' "$1"; }
# alloc IMG: the allocation of IMG's top layer (host offsets dropped).
alloc() { qemu-img map --output=json "$1" | python3 -c '
import json,sys
for e in json.load(sys.stdin):
    if e["depth"] == 0: print(e["start"], e["length"], e["zero"], e["data"])'; }

for fmt in qcow2 qed; do
  rm -rf d && mkdir -p d/sub
  qemu-img create -q -f qcow2 d/base.qcow2 4M
  qemu-io -c 'write -P 1 0 4M' d/base.qcow2 >/dev/null
  qemu-img create -q -f "$fmt" -b base.qcow2 -F qcow2 d/top.$fmt
  qemu-io -f "$fmt" -c 'write -P 2 1M 64k' -c 'write -P 3 1000k 1k' d/top.$fmt >/dev/null
  # The new backing shares some data with the old one and is shorter.
  qemu-img create -q -f qcow2 d/sub/nb.qcow2 2M
  qemu-io -c 'write -P 1 0 512k' -c 'write -P 9 600k 4k' d/sub/nb.qcow2 >/dev/null
  qemu-img convert -O raw d/top.$fmt orig.raw

  # Safe mode: relative -b is relative to the overlay's directory.
  cp d/top.$fmt d/want.$fmt; cp d/top.$fmt d/got.$fmt
  capture want qemu-img rebase -f "$fmt" -b sub/nb.qcow2 -F qcow2 d/want.$fmt
  capture got dk rebase -f "$fmt" -b sub/nb.qcow2 -F qcow2 d/got.$fmt
  same_file want.rc got.rc "exit status of safe rebase ($fmt)"
  same_file want.out got.out "stdout of safe rebase ($fmt)"
  same_content -f "$fmt" d/got.$fmt orig.raw
  check_clean d/got.$fmt "$fmt"
  [ "$(qemu-img info --output=json d/got.$fmt | json_key backing-filename)" = sub/nb.qcow2 ] ||
    fail "backing name not rewritten ($fmt)"
  # qed records no backing format (only "raw, do not probe").
  [ "$fmt" = qed ] || [ "$(qemu-img info --output=json d/got.$fmt | json_key backing-filename-format)" = qcow2 ] ||
    fail "backing format not rewritten ($fmt)"
  [ "$fmt" != qcow2 ] || { alloc d/want.$fmt >a.want; alloc d/got.$fmt >a.got; same_file a.want a.got "allocation after rebase ($fmt)"; }

  # Flatten: -b "" pulls in all backing data.
  cp d/top.$fmt d/flat.$fmt
  dk rebase -q -f "$fmt" -b "" d/flat.$fmt
  same_content -f "$fmt" d/flat.$fmt orig.raw
  [ -z "$(qemu-img info --output=json d/flat.$fmt | json_key backing-filename)" ] || fail "flatten kept a backing file ($fmt)"
  check_clean d/flat.$fmt "$fmt"

  # Unsafe mode rewrites only the header, even when the old backing is gone.
  cp d/top.$fmt d/uns.$fmt
  mv d/base.qcow2 d/base.moved
  dk rebase -u -f "$fmt" -b base.moved -F qcow2 d/uns.$fmt
  same_content -f "$fmt" d/uns.$fmt orig.raw
  mv d/base.moved d/base.qcow2
done

# Errors: the same exit status and message as qemu-img.
qemu-img create -q -f qcow2 -b d/base.qcow2 -F qcow2 e.qcow2
for args in "-b nonexist -F qcow2" "" "-b d/base.qcow2" "-u -b d/base.qcow2" "-t bogus -b d/base.qcow2 -F qcow2"; do
  # shellcheck disable=SC2086
  capture want qemu-img rebase $args e.qcow2
  # shellcheck disable=SC2086
  capture got dk rebase $args e.qcow2
  same_file want.rc got.rc "exit status of rebase $args"
  head -1 want.err | sed 's/^qemu-img: /diskit: rebase: /' >want.err1
  head -1 got.err >got.err1
  same_file want.err1 got.err1 "first stderr line of rebase $args"
done
echo ok
