# Hostile image: the L1 table offset points past the end of the file.
# Opening must fail: the active L1 table cannot be read.
source "${DK_TESTLIB:?run through ctest}" || exit 1
source "$(dirname "$DK_TESTLIB")/malformed/common.sh"
malformed l1_table_beyond_eof "info info-probed chain convert map mapjson"
