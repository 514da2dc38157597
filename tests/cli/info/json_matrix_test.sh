# `diskit info --output=json` equals `qemu-img info --output=json` key for
# key for every image of the matrix (both given the same relative path).
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu
source "$(dirname "$DK_TESTLIB")/matrix.sh"
build_matrix "$T/m"
cd "$T/m"
check_image() {
  local img=$1 fmt=$2
  qemu-img info --output=json "$img" >"$T/want.json"
  dk info --output=json "$img" >"$T/got.json" || fail "diskit info $img failed"
  same_json "$T/want.json" "$T/got.json"
  # With an explicit format too.
  dk info -f "$fmt" --output=json "$img" >"$T/got.json" || fail "diskit info -f $fmt $img failed"
  same_json "$T/want.json" "$T/got.json"
}
each_image list check_image
