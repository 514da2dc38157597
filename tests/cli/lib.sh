# Sourced by every tests/cli/**/*_test.sh. Gives: $DISKIT, a scratch dir $T
# (removed on exit), require/skip helpers and assertions that print why.
set -euo pipefail
: "${DISKIT:?DISKIT must point at build/diskit}"
T=$(mktemp -d "${TMPDIR:-/tmp}/dk-cli.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T"

dk() { "$DISKIT" "$@"; }
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
require() { command -v "$1" >/dev/null 2>&1 || skip "$1 is not installed"; }

# expect_status CODE CMD...: runs CMD, fails unless it exits with CODE.
expect_status() {
  local want=$1; shift
  set +e; "$@"; local got=$?; set -e
  [ "$got" = "$want" ] || fail "'$*' exited $got, expected $want"
}

# same_json A B: the two JSON files/strings are equal key for key.
same_json() {
  python3 - "$1" "$2" <<'PY' || fail "JSON differs: $1 vs $2"
import json, sys
def load(x):
    try:
        return json.load(open(x))
    except (FileNotFoundError, OSError):
        return json.loads(x)
a, b = load(sys.argv[1]), load(sys.argv[2])
if a != b:
    print("left: ", json.dumps(a, sort_keys=True)); print("right:", json.dumps(b, sort_keys=True)); sys.exit(1)
PY
}

# same_content IMG_A IMG_B: qemu-img compare says the guest contents match.
same_content() { qemu-img compare -q "$@" || fail "content differs: $*"; }

# ---- Helpers for differential tests (qemu-img/qemu-io are the oracle) ----

# Abort-style deaths of the oracle must not leave core files behind.
ulimit -c 0 2>/dev/null || true

# require_qemu: skip unless qemu-img and qemu-io are installed.
require_qemu() { require qemu-img; require qemu-io; }

# capture NAME CMD...: runs CMD with stdout, stderr and exit status saved in
# NAME.out, NAME.err, NAME.rc; never fails by itself.
capture() {
  local name=$1; shift
  set +e; "$@" >"$name.out" 2>"$name.err"; echo $? >"$name.rc"; set -e
}

# same_file A B [WHAT]: the two files are byte-identical (prints a diff if not).
same_file() {
  cmp -s "$1" "$2" && return 0
  diff -u "$1" "$2" | head -40 >&2 || true
  fail "${3:-files} differ: $1 vs $2"
}

# check_clean IMG [FMT]: `qemu-img check` finds no errors and no leaks.
check_clean() {
  local out
  out=$(qemu-img check ${2:+-f "$2"} "$1" 2>&1) || fail "qemu-img check $1: $out"
}

# expect_clean_error CMD...: CMD fails like a tool should on bad input: exit
# 1 within 20 s, no crash (signal, sanitizer report), exactly one line on
# stderr and it starts with "diskit: ".
expect_clean_error() {
  local rc
  set +e; timeout 20 "$@" >"$T/ece.out" 2>"$T/ece.err"; rc=$?; set -e
  [ "$rc" != 124 ] || fail "'$*' hung (killed after 20 s)"
  if grep -qE 'Sanitizer|runtime error:|core dumped' "$T/ece.err"; then
    head -20 "$T/ece.err" >&2; fail "'$*' crashed (sanitizer report)"
  fi
  [ "$rc" -lt 128 ] || fail "'$*' died with signal $((rc - 128))"
  [ "$rc" = 1 ] || { cat "$T/ece.err" >&2; fail "'$*' exited $rc, expected 1"; }
  [ "$(wc -l <"$T/ece.err")" = 1 ] || { cat "$T/ece.err" >&2; fail "'$*': expected one stderr line"; }
  grep -q '^diskit: ' "$T/ece.err" || fail "'$*': stderr does not start with 'diskit: ': $(cat "$T/ece.err")"
}

# each_image LIST FUNC: runs FUNC IMG FMT for every "img fmt" line of LIST,
# each in a subshell, so one failing image does not hide the others; fails
# at the end naming every image that failed.
each_image() {
  local list=$1 fn=$2 img fmt n=0 failed=()
  while read -r img fmt; do
    set +e; ( set -e; "$fn" "$img" "$fmt" ); local rc=$?; set -e
    [ "$rc" = 0 ] || failed+=("$img")
    n=$((n + 1))
  done <"$list"
  [ ${#failed[@]} = 0 ] || fail "$((${#failed[@]}))/$n images failed: ${failed[*]}"
  echo "ok: $n images"
}
