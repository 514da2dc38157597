# `diskit create` lays the new image out like qemu-img: the same file size
# and the same disk usage (`info` actual-size), for every option combination
# (sparse where qemu-img leaves holes, allocated where it preallocates).
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu
source "$(dirname "$DK_TESTLIB")/create/combos.sh"
make_create_bases
failed=()
for c in "${DK_CREATE_COMBOS[@]}"; do
  combo_args "$c"
  rm -f img ext.data
  qemu-img create -q "${ARGS[@]}" img ${SIZE:+"$SIZE"}
  want="$(stat -c %s img) $(qemu-img info -U --output=json img | grep '"actual-size"')"
  rm -f img ext.data
  dk create -q "${ARGS[@]}" img ${SIZE:+"$SIZE"} || fail "diskit create $c failed"
  got="$(stat -c %s img) $(qemu-img info -U --output=json img | grep '"actual-size"')"
  if [ "$want" != "$got" ]; then
    echo "create $c: file size/usage $got, qemu-img: $want" >&2
    failed+=("$c")
  fi
done
[ ${#failed[@]} = 0 ] || fail "${#failed[@]}/${#DK_CREATE_COMBOS[@]} layouts differ from qemu-img's"
echo "ok: ${#DK_CREATE_COMBOS[@]} combinations"
