# Sourced by tests/cli/malformed/*_test.sh (after lib.sh).
#
#   malformed KIND "MUST_FAIL..."
#
# makes a hostile image with tests/malformed/mkbad.py KIND, then runs
#   info, info-probed (no -f), chain (info --backing-chain), convert (-O raw),
#   map, mapjson (map --output=json)
# on it. The commands named in MUST_FAIL must fail cleanly (exit 1, one
# stderr line starting "diskit: ", within 20 s, no crash); the others may
# succeed or fail, but cleanly, and a successful convert must produce the
# bytes qemu-img produces when qemu-img succeeds too.
require_qemu
require python3
DK_MKBAD="$(dirname "$DK_TESTLIB")/../malformed/mkbad.py"

_mf_cmd() {  # _mf_cmd NAME IMG: the diskit argument list for one command
  case $1 in
    info) echo "info -f qcow2 $2" ;;
    info-probed) echo "info $2" ;;
    chain) echo "info --backing-chain -f qcow2 $2" ;;
    convert) echo "convert -f qcow2 -O raw $2 $T/out.raw" ;;
    map) echo "map -f qcow2 $2" ;;
    mapjson) echo "map -f qcow2 --output=json $2" ;;
  esac
}

malformed() {
  local kind=$1 must=" $2 " c rc
  python3 "$DK_MKBAD" "$kind" "$T/bad.qcow2" || fail "mkbad.py $kind failed"
  for c in info info-probed chain convert map mapjson; do
    rm -f "$T/out.raw"
    # shellcheck disable=SC2046
    if [[ $must == *" $c "* ]]; then
      expect_clean_error "$DISKIT" $(_mf_cmd "$c" "$T/bad.qcow2")
      continue
    fi
    set +e
    # shellcheck disable=SC2046
    timeout 20 "$DISKIT" $(_mf_cmd "$c" "$T/bad.qcow2") >"$T/mf.out" 2>"$T/mf.err"
    rc=$?
    set -e
    [ "$rc" != 124 ] || fail "$kind: diskit $c hung"
    ! grep -qE 'Sanitizer|runtime error:' "$T/mf.err" || { head "$T/mf.err" >&2; fail "$kind: diskit $c crashed"; }
    [ "$rc" -lt 128 ] || fail "$kind: diskit $c died with signal $((rc - 128))"
    [ "$rc" = 0 ] || [ "$rc" = 1 ] || fail "$kind: diskit $c exited $rc"
    if [ "$rc" = 1 ]; then
      [ "$(wc -l <"$T/mf.err")" = 1 ] && grep -q '^diskit: ' "$T/mf.err" ||
        { cat "$T/mf.err" >&2; fail "$kind: diskit $c: expected one 'diskit: ' error line"; }
    elif [ "$c" = convert ] && timeout 20 qemu-img convert -f qcow2 -O raw "$T/bad.qcow2" "$T/want.raw" 2>/dev/null; then
      cmp "$T/want.raw" "$T/out.raw" || fail "$kind: diskit convert succeeded with other bytes than qemu-img"
    fi
  done
  echo "ok: $kind"
}
