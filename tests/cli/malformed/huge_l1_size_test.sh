# Hostile image: l1_size 0xfffffff0.
# Opening must fail without allocating the table (qemu-img: Active L1 table too large).
source "${DK_TESTLIB:?run through ctest}" || exit 1
source "$(dirname "$DK_TESTLIB")/malformed/common.sh"
malformed huge_l1_size "info info-probed chain convert map mapjson"
