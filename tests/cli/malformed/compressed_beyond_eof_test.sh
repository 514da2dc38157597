# Hostile image: a compressed cluster descriptor points past the end of the file.
# Reading must fail.
source "$DK_TESTLIB"
source "$(dirname "$DK_TESTLIB")/malformed/common.sh"
malformed compressed_beyond_eof "convert"
