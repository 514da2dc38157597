#!/bin/bash
# The fish side of the appliance commands without a VM: with
# DISKIT_APPLIANCE_AGENT the session is the agent's host mode on the raw
# images. Output shapes (part-list, fsck's int, errors) and the shell's
# reread of the disks after each change are checked against host tools.
source "$DK_TESTLIB"
require sgdisk; require parted; require mke2fs; require e2fsck
AGENT=""
for c in "$(dirname "$DISKIT")/diskit-agent" "$(dirname "$DISKIT")/appliance/agent/diskit-agent"; do
  [ -z "$AGENT" ] && [ -x "$c" ] && AGENT=$c
done
[ -n "$AGENT" ] || skip "diskit-agent is not built"
export DISKIT_APPLIANCE_AGENT=$AGENT

capture p dk fish -N disk:100M <<'CMDS'
part-init /dev/sda gpt
part-add /dev/sda p 2048 104447
part-add /dev/sda p 104448 -2048
list-partitions
part-list /dev/sda
part-set-name /dev/sda 2 "data part"
part-get-name /dev/sda 2
part-del /dev/sda 1
list-partitions
CMDS
[ "$(cat p.rc)" = 0 ] || { cat p.err >&2; fail "partitioning exited $(cat p.rc)"; }
cat > p.want <<'EOF'
/dev/sda1
/dev/sda2
[0] = {
  part_num: 1
  part_start: 1048576
  part_end: 53477375
  part_size: 52428800
}
[1] = {
  part_num: 2
  part_start: 53477376
  part_end: 103809535
  part_size: 50332160
}
data part
/dev/sda2
EOF
diff -u p.want p.out || fail "partitioning output"
[ "$(grep -c 'starting the appliance for part-init' p.err)" = 1 ] || fail "notice: $(cat p.err)"
sgdisk -p test1.img | grep -qE '^ +2 +104448 +202752 ' || fail "sgdisk: $(sgdisk -p test1.img)"

truncate -s 64M w.raw
capture m dk fish --format raw -a w.raw run : mkfs ext4 /dev/sda label:root : vfs-type /dev/sda : vfs-label /dev/sda : fsck ext4 /dev/sda : -e2fsck /dev/sda correct:true forceall:true : mkfs vfat /dev/sda : vfs-type /dev/sda
printf 'ext4\nroot\n0\nvfat\n' | diff -u - m.out || fail "mkfs output"
grep -q "diskit: error: e2fsck: only one of the options 'correct', 'forceall' may be specified" m.err || fail "e2fsck message: $(cat m.err)"
if command -v fsck.vfat > /dev/null; then fsck.vfat -n w.raw > /dev/null 2>&1 || fail "fsck.vfat -n"; fi
echo ok
