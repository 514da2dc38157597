# Hostile image: refcount_order 7 (128-bit refcounts).
# Opening must fail.
source "${DK_TESTLIB:?run through ctest}" || exit 1
source "$(dirname "$DK_TESTLIB")/malformed/common.sh"
malformed refcount_order_7 "info info-probed chain convert map mapjson"
