# Hostile image: the refcount table offset is 0 (overlaps the header).
# Opening must fail: the metadata overlap is corruption.
source "${DK_TESTLIB:?run through ctest}" || exit 1
source "$(dirname "$DK_TESTLIB")/malformed/common.sh"
malformed refcount_table_overlaps_header "info info-probed chain convert map mapjson"
