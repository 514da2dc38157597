# `info --backing-chain` (JSON array and human text) matches qemu-img for
# 3-deep chains over raw and over a shorter qcow2 base, addressed by a
# relative path, an absolute path and from another directory.
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu
source "$(dirname "$DK_TESTLIB")/matrix.sh"
DK_MATRIX_FILTER='^chain_' build_matrix "$T/m"
mkdir -p "$T/other"
for img in chain_raw.qcow2 chain_qcow2.qcow2; do
  for where in "$T/m:$img" "$T/m:$T/m/$img" "$T/other:../m/$img"; do
    dir=${where%%:*} path=${where#*:}
    cd "$dir"
    qemu-img info --backing-chain --output=json "$path" >"$T/want.json"
    dk info --backing-chain --output=json "$path" >"$T/got.json" || fail "diskit info --backing-chain $path failed"
    same_json "$T/want.json" "$T/got.json"
    same_file "$T/want.json" "$T/got.json" "info --backing-chain --output=json $path"
    qemu-img info --backing-chain "$path" >"$T/want.txt"
    dk info --backing-chain "$path" >"$T/got.txt" || fail "diskit info --backing-chain $path failed"
    same_file "$T/want.txt" "$T/got.txt" "info --backing-chain $path"
  done
done
# A chain element that is missing: both fail with exit 1.
cd "$T/m"
mv cq_base.qcow2 gone.qcow2
expect_status 1 qemu-img info --backing-chain chain_qcow2.qcow2
expect_status 1 dk info --backing-chain chain_qcow2.qcow2
# Without --backing-chain the backing file is not opened: info still works.
qemu-img info --output=json chain_qcow2.qcow2 >"$T/want.json"
dk info --output=json chain_qcow2.qcow2 >"$T/got.json" || fail "info needs the backing file"
same_file "$T/want.json" "$T/got.json" "info of an image whose backing file is missing"
echo ok
