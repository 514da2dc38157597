# `diskit create` prints the same "Formatting ..." line (and nothing else on
# stdout) and exits like qemu-img create, for every option combination.
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu
source "$(dirname "$DK_TESTLIB")/create/combos.sh"
make_create_bases
for c in "${DK_CREATE_COMBOS[@]}"; do
  combo_args "$c"
  rm -f img ext.data
  capture want qemu-img create "${ARGS[@]}" img ${SIZE:+"$SIZE"}
  rm -f img ext.data
  capture got dk create "${ARGS[@]}" img ${SIZE:+"$SIZE"}
  same_file want.rc got.rc "exit status of create $c"
  same_file want.out got.out "stdout of create $c"
  # -q prints nothing.
  rm -f img ext.data
  dk create -q "${ARGS[@]}" img ${SIZE:+"$SIZE"} >q.out || fail "create -q $c failed"
  [ ! -s q.out ] || fail "create -q $c printed: $(cat q.out)"
done
echo "ok: ${#DK_CREATE_COMBOS[@]} combinations"
