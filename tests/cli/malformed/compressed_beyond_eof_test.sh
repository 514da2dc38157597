# Hostile image: a compressed cluster descriptor points past the end of the file.
# Reading must fail.
source "${DK_TESTLIB:?run through ctest}" || exit 1
source "$(dirname "$DK_TESTLIB")/malformed/common.sh"
malformed compressed_beyond_eof "convert"
