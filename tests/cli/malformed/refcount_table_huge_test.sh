# Hostile image: refcount_table_clusters 0x7fffffff.
# Opening must fail (qemu-img: Reference count table too large).
source "${DK_TESTLIB:?run through ctest}" || exit 1
source "$(dirname "$DK_TESTLIB")/malformed/common.sh"
malformed refcount_table_huge "info info-probed chain convert map mapjson"
