# Hostile image: cluster_bits 8 (256-byte clusters).
# Opening must fail (qemu-img: Unsupported cluster size: 2^8).
source "${DK_TESTLIB:?run through ctest}" || exit 1
source "$(dirname "$DK_TESTLIB")/malformed/common.sh"
malformed cluster_bits_8 "info info-probed chain convert map mapjson"
