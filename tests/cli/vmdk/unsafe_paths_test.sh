#!/bin/bash
# Extent paths in a descriptor are untrusted: an absolute or ".." name is
# refused unless the global --allow-unsafe-extent-paths flag is given.
source "$DK_TESTLIB"
require qemu-img

dk create -q -f vmdk -o subformat=monolithicFlat f.vmdk 1M
qemu-img create -q -f raw data.raw 1M
printf 'secret-data' | dd of=data.raw conv=notrunc status=none
sed "s|\"f-flat.vmdk\"|\"$T/data.raw\"|" f.vmdk >abs.vmdk
mkdir sub
sed 's|"f-flat.vmdk"|"../data.raw"|' f.vmdk >sub/up.vmdk

for img in abs.vmdk sub/up.vmdk; do
  expect_status 1 dk convert -O raw $img out.raw 2>err.txt
  grep -q -- "pass --allow-unsafe-extent-paths to allow it" err.txt || fail "$img: message: $(cat err.txt)"
  [ ! -e out.raw ] || [ ! -s out.raw ] || fail "$img: output written despite the refusal"
  rm -f out.raw
  dk --allow-unsafe-extent-paths convert -O raw $img out.raw
  cmp out.raw data.raw || fail "$img: content with the flag"
  qemu-img convert -O raw $img q.raw
  cmp out.raw q.raw || fail "$img: differs from qemu-img"
  dk --allow-unsafe-extent-paths info $img >/dev/null
  rm -f out.raw q.raw
done
expect_status 1 dk info abs.vmdk 2>/dev/null
grep -q -- "--allow-unsafe-extent-paths" <(dk --help) || fail "flag missing from --help"
echo OK
