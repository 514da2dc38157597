# Hostile image: a compressed cluster's sector count runs past the end of the file.
# No crash; a successful read gives qemu-img's bytes.
source "${DK_TESTLIB:?run through ctest}" || exit 1
source "$(dirname "$DK_TESTLIB")/malformed/common.sh"
malformed compressed_size_past_eof ""
