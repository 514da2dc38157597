# Hostile image: header_length 0x7fffffff.
# Opening must fail (qemu-img: qcow2 header exceeds cluster size).
source "${DK_TESTLIB:?run through ctest}" || exit 1
source "$(dirname "$DK_TESTLIB")/malformed/common.sh"
malformed header_length_huge "info info-probed chain convert map mapjson"
