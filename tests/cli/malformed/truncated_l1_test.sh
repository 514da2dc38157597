# Hostile image: the file ends 4 bytes into the L1 table.
# Opening must fail: the active L1 table cannot be read.
source "${DK_TESTLIB:?run through ctest}" || exit 1
source "$(dirname "$DK_TESTLIB")/malformed/common.sh"
malformed truncated_l1 "info info-probed chain convert map mapjson"
