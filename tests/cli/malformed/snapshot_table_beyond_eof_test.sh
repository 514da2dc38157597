# Hostile image: the snapshot table offset points past the end of the file.
# info lists snapshots, so it must fail; reads may work.
source "${DK_TESTLIB:?run through ctest}" || exit 1
source "$(dirname "$DK_TESTLIB")/malformed/common.sh"
malformed snapshot_table_beyond_eof "info info-probed chain"
