# Hostile image: an L1 entry is not cluster-aligned.
# Reading and mapping must fail (qemu-img: Image is corrupt).
source "${DK_TESTLIB:?run through ctest}" || exit 1
source "$(dirname "$DK_TESTLIB")/malformed/common.sh"
malformed l1_entry_unaligned "convert map mapjson"
