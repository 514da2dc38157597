# `create -o help` (and -o ?) lists the options: every qemu-img option line
# (other than encryption, which diskit does not implement) appears verbatim
# and the command exits 0.
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu
for fmt in raw qcow2; do
  for h in help '?'; do
    qemu-img create -f $fmt -o "$h" >want.txt
    dk create -f $fmt -o "$h" >got.txt || fail "diskit create -f $fmt -o $h failed"
    grep -q "^Supported $fmt options:" got.txt || fail "-o $h: no 'Supported $fmt options:' header"
    n=0
    while IFS= read -r line; do
      case "$line" in
        "  encrypt"*) continue ;;
        "  "*=*) grep -qxF -- "$line" got.txt || fail "-f $fmt -o $h: missing line '$line'"; n=$((n + 1)) ;;
      esac
    done <want.txt
    [ "$n" -gt 0 ] || fail "test is void: no option lines from qemu-img"
  done
done
# An option help for an unknown format fails.
expect_status 1 dk create -f nosuchfmt -o help
echo ok
