# Hostile image: an unknown incompatible feature bit.
# Opening must fail (qemu-img: Unsupported qcow2 feature(s)).
source "${DK_TESTLIB:?run through ctest}" || exit 1
source "$(dirname "$DK_TESTLIB")/malformed/common.sh"
malformed unknown_incompatible_feature "info info-probed chain convert map mapjson"
