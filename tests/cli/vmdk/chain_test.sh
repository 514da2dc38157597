#!/bin/bash
# vmdk-on-vmdk chains (parentCID / parentFileNameHint), zeroed grains, and
# hostile descriptors: diskit agrees with qemu-img or fails cleanly.
source "$DK_TESTLIB"
require qemu-img
require qemu-io

dk create -q -f vmdk -o zeroed_grain=on base.vmdk 100M
qemu-io -f vmdk -c 'write -P 0x61 0 1M' -c 'write -z 64k 128k' base.vmdk >/dev/null
dk create -q -f vmdk -b base.vmdk -F vmdk child.vmdk
grep -a -q 'parentFileNameHint="base.vmdk"' child.vmdk || fail "no parentFileNameHint"
qemu-io -f vmdk -c 'write -P 0x62 1000 3000' child.vmdk >/dev/null
dk info --output=json --backing-chain child.vmdk >d.json
qemu-img info --output=json --backing-chain child.vmdk >q.json
same_json d.json q.json
dk map --output=json child.vmdk >d.json
qemu-img map --output=json child.vmdk >q.json
same_json d.json q.json
dk convert -O raw child.vmdk d.raw
qemu-img convert -O raw child.vmdk q.raw
cmp d.raw q.raw || fail "chain reads differ"
qemu-img check -q child.vmdk || fail "check child"

# Zero writes into a zeroed_grain image become GTE=1 entries.
qemu-img create -q -f raw s.raw 10M
qemu-io -f raw -c 'write -P 7 100k 300k' s.raw >/dev/null
dk create -q -f vmdk -o zeroed_grain=on z.vmdk 10M
qemu-io -f vmdk -c 'write -P 1 0 10M' z.vmdk >/dev/null
dk convert -n -O vmdk s.raw z.vmdk
same_content s.raw z.vmdk
qemu-img check -q z.vmdk || fail "check zeroed"
dk map --output=json z.vmdk >d.json
qemu-img map --output=json z.vmdk >q.json
same_json d.json q.json

# Hostile descriptors: clean errors naming the problem, exit 1.
dk create -q -f vmdk -o subformat=monolithicFlat f.vmdk 1M
sed 's|"f-flat.vmdk"|"/etc/passwd"|' f.vmdk >abs.vmdk
sed 's|"f-flat.vmdk"|"../f-flat.vmdk"|' f.vmdk >up.vmdk
sed 's|"f-flat.vmdk"|"nothere.vmdk"|' f.vmdk >miss.vmdk
sed 's|RW 2048 |RW 99999999999999999 |' f.vmdk >huge.vmdk
for img in abs up miss huge; do
  expect_status 1 dk info $img.vmdk 2>err.txt
  grep -q "diskit: info: " err.txt || fail "$img: no clean error: $(cat err.txt)"
done
grep -q "absolute path" <(dk info abs.vmdk 2>&1) || fail "abs message"
echo OK
