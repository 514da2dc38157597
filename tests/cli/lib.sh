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
