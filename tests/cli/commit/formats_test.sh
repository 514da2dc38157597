# commit of qed and vmdk overlays (qemu-img 7.2 empties neither: they have
# no bdrv_make_empty, and it ignores the ENOTSUP) and into raw, qed and vmdk
# bases, against qemu-img commit on identical copies.
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu

source "$(dirname "${BASH_SOURCE[0]}")/commit_lib.sh" || exit 1

# one BASEFMT TOPFMT [ARGS...]: base 4M with data, overlay 4M with data
# and a zero write; commit both copies and compare.
one() {
  local bf=$1 tf=$2; shift 2
  rm -rf o want got; mkdir o
  qemu-img create -q -f "$bf" o/base.$bf 4M
  qemu-io -f "$bf" -c 'write -P 0x11 0 4M' o/base.$bf >/dev/null
  qemu-img create -q -f "$tf" -b base.$bf -F "$bf" o/top.$tf 4M
  qemu-io -f "$tf" -c 'write -P 0x22 64k 128k' -c 'write -z 1M 64k' -c 'write -P 0x33 3000k 5k' o/top.$tf >/dev/null
  cp -r o want; cp -r o got
  capture want qemu-img commit "$@" want/top.$tf
  capture got dk commit "$@" got/top.$tf
  same_file want.rc got.rc "exit status ($bf <- $tf)"
  same_file want.out got.out "stdout ($bf <- $tf)"
  [ "$(cat got.rc)" = 0 ] || { cat got.err >&2; fail "commit failed ($bf <- $tf)"; }
  same_content -f "$bf" -F "$bf" want/base.$bf got/base.$bf
  map_shape want/top.$tf >m.want; map_shape got/top.$tf >m.got
  same_file m.want m.got "overlay map ($bf <- $tf)"
  same_content -f "$tf" -F "$tf" o/top.$tf got/top.$tf
  [ "$bf" = raw ] || check_clean got/base.$bf "$bf"
  check_clean got/top.$tf "$tf"
}

one qcow2 qed
one qcow2 qed -d
one qed qcow2
one raw qcow2
one vmdk vmdk
one vmdk vmdk -d
one qed qed
echo ok
