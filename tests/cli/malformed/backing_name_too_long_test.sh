# Hostile image: backing_file_size 0xffffffff.
# Opening must fail (qemu-img: Backing file name too long).
source "${DK_TESTLIB:?run through ctest}" || exit 1
source "$(dirname "$DK_TESTLIB")/malformed/common.sh"
malformed backing_name_too_long "info info-probed chain convert map mapjson"
