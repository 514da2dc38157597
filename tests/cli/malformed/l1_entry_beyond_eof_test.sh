# Hostile image: an L1 entry points past the end of the file.
# Reading and mapping must fail (the L2 table cannot be read).
source "${DK_TESTLIB:?run through ctest}" || exit 1
source "$(dirname "$DK_TESTLIB")/malformed/common.sh"
malformed l1_entry_beyond_eof "convert map mapjson"
