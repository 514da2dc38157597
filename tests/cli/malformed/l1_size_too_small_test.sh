# Hostile image: a 1 PiB virtual size with the L1 table of an 8 MiB image.
# Opening must fail (qemu-img: L1 table is too small).
source "${DK_TESTLIB:?run through ctest}" || exit 1
source "$(dirname "$DK_TESTLIB")/malformed/common.sh"
malformed l1_size_too_small "info info-probed chain convert map mapjson"
