# Hostile image: a backing-file loop a -> b -> a.
# Opening the chain must fail (qemu-img hangs); info without the chain may work.
source "${DK_TESTLIB:?run through ctest}" || exit 1
source "$(dirname "$DK_TESTLIB")/malformed/common.sh"
malformed backing_loop "chain convert map mapjson"
