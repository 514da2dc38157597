# Hostile image: nb_snapshots 0xffffffff.
# Opening must fail without allocating (qemu-img: Snapshot table too large).
source "${DK_TESTLIB:?run through ctest}" || exit 1
source "$(dirname "$DK_TESTLIB")/malformed/common.sh"
malformed nb_snapshots_huge "info info-probed chain convert map mapjson"
