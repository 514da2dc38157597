# `convert -l` reads an internal snapshot (by name, by id, with
# snapshot.name=/snapshot.id=) byte-identical to qemu-img; a missing
# snapshot is an error (exit 1) in both.
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu
source "$(dirname "$DK_TESTLIB")/matrix.sh"
DK_MATRIX_FILTER='^snapshot$' build_matrix "$T/m"
img=$T/m/snapshot.qcow2
for sel in s1 s2 1 2 snapshot.name=s1 snapshot.id=2; do
  qemu-img convert -l "$sel" -O raw "$img" "$T/want.raw"
  dk convert -l "$sel" -O raw "$img" "$T/got.raw" || fail "diskit convert -l $sel failed"
  cmp "$T/want.raw" "$T/got.raw" || fail "-l $sel: data differs"
done
# The snapshots really differ from each other and from the active layer.
qemu-img convert -O raw "$img" "$T/active.raw"
cmp -s "$T/active.raw" "$T/got.raw" && fail "test is void: snapshot equals the active layer"
expect_status 1 dk convert -l nosuch -O raw "$img" "$T/x.raw"
echo ok
