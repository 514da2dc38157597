# Images `diskit convert -O qcow2` writes (raw->qcow2, qcow2->qcow2, with -c
# zlib/zstd, cluster sizes, compat=0.10, extended L2, refcount widths,
# preallocation) pass `qemu-img check`, read back identical, have the
# requested header (info equals that of qemu-img's conversion, disk size
# aside), and stay clean after qemu-io writes into them.
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu
source "$(dirname "$DK_TESTLIB")/matrix.sh"
DK_MATRIX_FILTER='^(plain|chain_qcow2|el2_64k)$' build_matrix "$T/m"
cd "$T/m"
opts=(
  ""
  "-c"
  "-c -o compression_type=zlib"
  "-c -o compression_type=zstd"
  "-c -o cluster_size=4k"
  "-o cluster_size=512"
  "-o cluster_size=4k"
  "-o cluster_size=2M"
  "-o compat=0.10"
  "-o compat=0.10,cluster_size=4k"
  "-o extended_l2=on"
  "-o extended_l2=on,cluster_size=128k"
  "-o refcount_bits=1"
  "-o refcount_bits=64"
  "-o lazy_refcounts=on"
  "-o preallocation=metadata"
  "-o preallocation=full"
  "-o data_file=$T/m/out.data"
  "-S 0"
  "-W"
  "-m 4 -W"
)
strip_size() {  # info JSON without the keys that depend on allocation
  python3 -c 'import json,sys
d=json.load(open(sys.argv[1])); d.pop("actual-size",None); print(json.dumps(d,sort_keys=True))' "$1"
}
check_one() {
  local img=$1 o=$2
    rm -f want.qcow2 out.qcow2 out.data
    # shellcheck disable=SC2086
    qemu-img convert -O qcow2 $o "$img" want.qcow2
    qemu-img info --output=json want.qcow2 >"$T/want.json"
    rm -f out.data
    # shellcheck disable=SC2086
    dk convert -O qcow2 $o "$img" out.qcow2 || fail "diskit convert -O qcow2 $o $img failed"
    check_clean out.qcow2 qcow2
    qemu-img compare -q "$img" out.qcow2 || fail "convert $o $img: content differs"
    mv want.qcow2 out.qcow2.ref; mv out.qcow2 want.qcow2   # same name in info
    qemu-img info --output=json want.qcow2 >"$T/got.json"
    mv want.qcow2 out.qcow2; mv out.qcow2.ref want.qcow2
    [ "$(strip_size "$T/want.json")" = "$(strip_size "$T/got.json")" ] ||
      fail "convert $o $img: header differs: $(strip_size "$T/got.json") vs $(strip_size "$T/want.json")"
    if [[ $o == -c* ]]; then
      qemu-img check out.qcow2 | grep -q ' 0.00% compressed' &&
        fail "convert $o $img: no compressed clusters"
    fi
    qemu-io -f qcow2 -c 'write -P 0xc3 1000 70000' -c 'write -z 2M 100k' -c 'discard 4M 128k' \
      out.qcow2 >/dev/null || fail "qemu-io cannot write into convert $o $img"
    check_clean out.qcow2 qcow2
}
# Every (source, options) pair runs, failures are listed at the end.
failed=()
while read -r img fmt; do
  for o in "${opts[@]}"; do
    set +e; ( set -e; check_one "$img" "$o" ); rc=$?; set -e
    [ "$rc" = 0 ] || failed+=("$img[$o]")
  done
done <list
[ ${#failed[@]} = 0 ] || fail "${#failed[@]} conversions failed: ${failed[*]}"
echo "ok: $(wc -l <list) sources x ${#opts[@]} option sets"
