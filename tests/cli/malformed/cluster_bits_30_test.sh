# Hostile image: cluster_bits 30 (1 GiB clusters).
# Opening must fail (qemu-img: Unsupported cluster size: 2^30).
source "${DK_TESTLIB:?run through ctest}" || exit 1
source "$(dirname "$DK_TESTLIB")/malformed/common.sh"
malformed cluster_bits_30 "info info-probed chain convert map mapjson"
