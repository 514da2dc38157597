# Hostile image: an image that is its own backing file.
# Opening the chain must fail; info without the chain may work.
source "${DK_TESTLIB:?run through ctest}" || exit 1
source "$(dirname "$DK_TESTLIB")/malformed/common.sh"
malformed backing_self "chain convert map mapjson"
