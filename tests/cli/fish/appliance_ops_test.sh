#!/bin/bash
# The appliance's ops without a VM: diskit-agent in host mode (--stdio
# --device sda=FILE) runs them on raw files, and host tools check the
# results: mkfs ext4 then e2fsck -fn; part-init gpt + part-add + part-list
# against sgdisk -p; mkfs vfat accepted by fsck.vfat -n; resize2fs after
# growing the file; bad device names refused.
source "$DK_TESTLIB"
require python3; require sgdisk; require parted; require mke2fs; require e2fsck
AGENT=${DISKIT_AGENT:-}
for c in "$(dirname "$DISKIT")/appliance/agent/diskit-agent" "$(dirname "$DISKIT")/diskit-agent"; do
  [ -z "$AGENT" ] && [ -x "$c" ] && AGENT=$c
done
[ -n "$AGENT" ] || skip "diskit-agent is not built"
CLIENT="$(dirname "$DK_TESTLIB")/../appliance/ops/agent_client.py"
ops() { python3 "$CLIENT" "$AGENT" "$@"; }

# mkfs ext4 (label, block size) then a clean e2fsck; resize2fs after growing.
truncate -s 64M e.raw
ops --device sda="$T/e.raw" > ext.out <<'REQ'
mkfs {"fstype": "ext4", "device": "/dev/sda", "label": "data", "blocksize": 1024}
e2fsck {"device": "/dev/sda"}
fsck {"fstype": "ext4", "device": "/dev/sda"}
REQ
printf 'null\nnull\n0\n' | diff -u - ext.out || fail "mkfs/e2fsck/fsck: $(cat ext.out)"
e2fsck -fn e.raw > fsck.out 2>&1 || { cat fsck.out >&2; fail "e2fsck -fn after mkfs"; }
[ "$(blkid -o value -s LABEL e.raw)" = data ] || fail "label"
truncate -s 96M e.raw
ops --device sda="$T/e.raw" <<<'resize2fs {"device": "/dev/sda"}' > rs.out
[ "$(cat rs.out)" = null ] || fail "resize2fs: $(cat rs.out)"
dumpe2fs -h e.raw 2>/dev/null | grep -q '^Block count: *98304$' || fail "resize2fs did not grow: $(dumpe2fs -h e.raw 2>/dev/null | grep 'Block count')"
e2fsck -fn e.raw > fsck2.out 2>&1 || { cat fsck2.out >&2; fail "e2fsck -fn after resize2fs"; }

# GPT: part-list agrees with sgdisk -p.
truncate -s 100M g.raw
ops --device sda="$T/g.raw" > gpt.out <<'REQ'
part-init {"device": "/dev/sda", "parttype": "gpt"}
part-add {"device": "/dev/sda", "prlogex": "p", "startsect": 2048, "endsect": 104447}
part-add {"device": "/dev/sda", "prlogex": "p", "startsect": 104448, "endsect": -2048}
part-set-name {"device": "/dev/sda", "partnum": 2, "name": "second one"}
part-set-gpt-type {"device": "/dev/sda", "partnum": 2, "guid": "0FC63DAF-8483-4772-8E79-3D69D8477DE4"}
part-get-parttype {"device": "/dev/sda"}
part-list {"device": "/dev/sda"}
REQ
sed -n 6p gpt.out | grep -qx '"gpt"' || fail "part-get-parttype: $(cat gpt.out)"
python3 - gpt.out <<'PY' > list.txt
import json, sys
for p in json.loads(open(sys.argv[1]).read().splitlines()[6]):
    print(p["part_num"], p["part_start"] // 512, p["part_end"] // 512)
PY
sgdisk -p g.raw | awk '/^ +[0-9]+ /{print $1, $2, $3}' > sgdisk.txt
diff -u sgdisk.txt list.txt || fail "part-list differs from sgdisk -p"
sgdisk -i 2 g.raw | grep -q "Partition name: 'second one'" || fail "part-set-name: $(sgdisk -i 2 g.raw)"

# vfat: fsck.vfat accepts it.
if command -v fsck.vfat > /dev/null; then
  truncate -s 32M v.raw
  ops --device sda="$T/v.raw" <<<'mkfs {"fstype": "vfat", "device": "/dev/sda", "label": "EFI"}' > v.out
  [ "$(cat v.out)" = null ] || fail "mkfs vfat: $(cat v.out)"
  fsck.vfat -n v.raw > vfat.out 2>&1 || { cat vfat.out >&2; fail "fsck.vfat -n"; }
fi

# Requests that must be refused, with the agent still answering after.
ops --device sda="$T/g.raw" > bad.out <<'REQ'
mkfs {"fstype": "ext4", "device": "/etc/passwd"}
mkfs {"fstype": "ext4", "device": "/dev/sdb"}
part-add {"device": "/dev/sda", "prlogex": "q", "startsect": 1, "endsect": 2}
mkfs {"fstype": "ext4"}
mkfs {"fstype": "zfs", "device": "/dev/sda"}
lvcreate {"logvol": "../x", "volgroup": "vg", "mbytes": 4}
part-get-parttype {"device": "/dev/sda"}
REQ
[ "$(grep -c '^ERROR ' bad.out)" = 6 ] || fail "bad requests: $(cat bad.out)"
grep -q '^ERROR 2 .*/etc/passwd' bad.out || fail "a path as device: $(cat bad.out)"
tail -1 bad.out | grep -qx '"gpt"' || fail "the agent did not survive: $(cat bad.out)"
echo ok
