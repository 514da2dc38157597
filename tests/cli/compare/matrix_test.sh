# Every image of the matrix compares identical to its qemu-img raw copy
# (both orders, default and strict), and a one-byte change in the copy is
# found at the offset qemu-img reports.
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu
source "$(dirname "$DK_TESTLIB")/matrix.sh"
DK_MATRIX_FILTER='^(compat010|cluster512|cluster2M|el2_64k|compressed_zstd|datafile_raw|dirty|chain_raw|chain_qcow2|snapshot|prealloc_metadata|plain)' build_matrix "$T/m"
cd "$T/m"
check_image() {
  local img=$1 fmt=$2
  qemu-img convert -O raw "$img" "$T/flat.raw"
  for args in "$img $T/flat.raw" "$T/flat.raw $img" "-s $img $T/flat.raw"; do
    # shellcheck disable=SC2086
    capture "$T/want" qemu-img compare $args
    # shellcheck disable=SC2086
    capture "$T/got" dk compare $args
    same_file "$T/want.rc" "$T/got.rc" "exit status of compare $args"
    same_file "$T/want.out" "$T/got.out" "compare $args"
  done
  printf '\xfe' | dd of="$T/flat.raw" bs=1 seek=3145730 conv=notrunc status=none
  capture "$T/want" qemu-img compare "$img" "$T/flat.raw"
  capture "$T/got" dk compare "$img" "$T/flat.raw"
  same_file "$T/want.rc" "$T/got.rc" "exit status of compare $img (changed copy)"
  same_file "$T/want.out" "$T/got.out" "compare $img (changed copy)"
}
each_image list check_image
echo ok
