# Hostile image: virtual size 2^63-512.
# Opening must fail (qemu-img: Image is too big).
source "${DK_TESTLIB:?run through ctest}" || exit 1
source "$(dirname "$DK_TESTLIB")/malformed/common.sh"
malformed huge_virtual_size "info info-probed chain convert map mapjson"
