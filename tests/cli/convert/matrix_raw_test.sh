# Every image of the matrix reads byte-identical through `diskit convert -O
# raw` and `qemu-img convert -O raw`.
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu
source "$(dirname "$DK_TESTLIB")/matrix.sh"
build_matrix "$T/m"
check_image() {
  local img=$1 fmt=$2
  qemu-img convert -f "$fmt" -O raw "$T/m/$img" "$T/want.raw"
  dk convert -f "$fmt" -O raw "$T/m/$img" "$T/got.raw" || fail "diskit convert $img failed"
  if [ "$(stat -c %s "$T/want.raw")" -gt $((64 << 20)) ]; then
    qemu-img compare -q -f raw -F raw "$T/want.raw" "$T/got.raw" || fail "$img: raw data differs"
  else
    cmp "$T/want.raw" "$T/got.raw" || fail "$img: raw data differs"
  fi
  # Probing the format must give the same bytes.
  dk convert -O raw "$T/m/$img" "$T/probed.raw" || fail "diskit convert (probed) $img failed"
  qemu-img compare -q -f raw -F raw "$T/want.raw" "$T/probed.raw" || fail "$img: probed read differs"
  rm -f "$T/want.raw" "$T/got.raw" "$T/probed.raw"
}
each_image "$T/m/list" check_image
