# `diskit info` output is byte-identical to qemu-img's, as JSON and as the
# human-readable text, for every image of the matrix. (Key equality is
# json_matrix; this case fails on formatting differences alone.)
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu
source "$(dirname "$DK_TESTLIB")/matrix.sh"
build_matrix "$T/m"
cd "$T/m"
check_image() {
  local img=$1 fmt=$2
  for out in json human; do
    qemu-img info --output=$out "$img" >"$T/want.$out"
    dk info --output=$out "$img" >"$T/got.$out" || fail "diskit info --output=$out $img failed"
    same_file "$T/want.$out" "$T/got.$out" "info --output=$out of $img"
  done
  # The default output is the human one.
  dk info "$img" >"$T/got.default" || fail "diskit info $img failed"
  same_file "$T/want.human" "$T/got.default" "info (default output) of $img"
}
each_image list check_image
