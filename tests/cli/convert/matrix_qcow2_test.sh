# Every image of the matrix converted by diskit to qcow2 (default options,
# then compressed) passes `qemu-img check` and compares equal to its source.
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu
source "$(dirname "$DK_TESTLIB")/matrix.sh"
DK_MATRIX_FILTER='^(compat010|cluster512|cluster2M|refcount1|refcount64|dirty|el2_32k|el2_128k|compressed_zstd|compressed_4k|prealloc_falloc|datafile|datafile_raw|chain_raw|chain_qcow2|snapshot|large|plain)$' \
  build_matrix "$T/m"
cd "$T/m"
check_image() {
  local img=$1 fmt=$2
  for o in "" "-c"; do
    rm -f "$T/out.qcow2"
    # shellcheck disable=SC2086
    dk convert $o -O qcow2 "$img" "$T/out.qcow2" || fail "diskit convert $o -O qcow2 $img failed"
    check_clean "$T/out.qcow2" qcow2
    qemu-img compare -q "$img" "$T/out.qcow2" || fail "convert $o -O qcow2 $img: content differs"
  done
}
each_image list check_image
