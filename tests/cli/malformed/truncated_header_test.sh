# Hostile image: the file is 72 bytes, shorter than a qcow2 header.
# Opening must fail.
source "${DK_TESTLIB:?run through ctest}" || exit 1
source "$(dirname "$DK_TESTLIB")/malformed/common.sh"
malformed truncated_header "info info-probed chain convert map mapjson"
