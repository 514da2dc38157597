# `map --start-offset/--max-length` (and -s/-l) match qemu-img byte for byte,
# including unaligned starts, lengths past the end and ranges in chains.
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu
source "$(dirname "$DK_TESTLIB")/matrix.sh"
DK_MATRIX_FILTER='^(compat11|cluster512|el2_64k|chain_qcow2|compressed_zstd)$' build_matrix "$T/m"
cd "$T/m"
ranges=("--start-offset=0 --max-length=65536" "--start-offset=1234 --max-length=5000"
        "--start-offset=1M" "--max-length=3000000" "--start-offset=4M --max-length=100M"
        "-s 65537 -l 131071" "--start-offset=8M" "--start-offset=3145729 --max-length=1")
check_image() {
  local img=$1 fmt=$2
  for r in "${ranges[@]}"; do
    for out in json human; do
      # shellcheck disable=SC2086
      capture "$T/want" qemu-img map --output=$out $r "$img"
      # shellcheck disable=SC2086
      capture "$T/got" dk map --output=$out $r "$img"
      same_file "$T/want.rc" "$T/got.rc" "exit status of map $r $img"
      same_file "$T/want.out" "$T/got.out" "map --output=$out $r $img"
    done
  done
}
each_image list check_image
echo ok
