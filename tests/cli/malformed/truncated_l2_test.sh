# Hostile image: the file ends halfway into an L2 table.
# Reading and mapping must fail (the L2 table cannot be read).
source "${DK_TESTLIB:?run through ctest}" || exit 1
source "$(dirname "$DK_TESTLIB")/malformed/common.sh"
malformed truncated_l2 "convert map mapjson"
