# Hostile image: the backing file name lies past the end of the file.
# Opening must fail (qemu-img: Invalid backing file offset).
source "${DK_TESTLIB:?run through ctest}" || exit 1
source "$(dirname "$DK_TESTLIB")/malformed/common.sh"
malformed backing_name_beyond_eof "info info-probed chain convert map mapjson"
