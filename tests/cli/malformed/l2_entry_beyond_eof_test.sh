# Hostile image: an L2 entry points data past the end of the file.
# Reading must fail; map only reports the offset.
source "${DK_TESTLIB:?run through ctest}" || exit 1
source "$(dirname "$DK_TESTLIB")/malformed/common.sh"
malformed l2_entry_beyond_eof "convert"
