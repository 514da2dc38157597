# `diskit map` (human output) is byte-identical to qemu-img's for every
# image of the matrix; images whose data qemu-img cannot place in one file
# make both fail the same way.
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu
source "$(dirname "$DK_TESTLIB")/matrix.sh"
build_matrix "$T/m"
cd "$T/m"
check_image() {
  local img=$1 fmt=$2
  capture "$T/want" qemu-img map "$img"
  capture "$T/got" dk map "$img"
  same_file "$T/want.rc" "$T/got.rc" "exit status of map $img"
  same_file "$T/want.out" "$T/got.out" "map output of $img"
}
each_image list check_image
