# Hostile image: header version 4.
# Opening must fail (qemu-img: Unsupported qcow2 version 4).
source "${DK_TESTLIB:?run through ctest}" || exit 1
source "$(dirname "$DK_TESTLIB")/malformed/common.sh"
malformed version_4 "info info-probed chain convert map mapjson"
