# `diskit map --output=json` is byte-identical to qemu-img's for every image
# of the matrix (and key-equal, checked first for a readable diff).
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu
source "$(dirname "$DK_TESTLIB")/matrix.sh"
build_matrix "$T/m"
cd "$T/m"
check_image() {
  local img=$1 fmt=$2
  qemu-img map --output=json "$img" >"$T/want.json"
  dk map --output=json "$img" >"$T/got.json" || fail "diskit map $img failed"
  same_json "$T/want.json" "$T/got.json"
  same_file "$T/want.json" "$T/got.json" "map --output=json of $img"
}
each_image list check_image
