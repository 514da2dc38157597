#!/bin/bash
# An ext4 whose journal needs recovery (debugfs logs a block without
# applying it): cat shows the replayed contents with one warning, the
# image is not changed.
source "$DK_TESTLIB"
require_qemu; require mkfs.ext4; require debugfs

mkdir -p tree/etc; echo original > tree/etc/hostname
mkfs.ext4 -q -F -d tree fs.img 16M
blk=$(debugfs -R 'blocks /etc/hostname' fs.img 2>/dev/null | tr -dc 0-9)
printf 'replayed!\n' > blk; truncate -s 1024 blk
printf 'jo\njw -b %s blk\njc\n' "$blk" | debugfs -w -f - fs.img >/dev/null 2>&1
dumpe2fs -h fs.img 2>/dev/null | grep -q needs_recovery || skip "debugfs could not make a journal needing recovery"
qemu-img convert -O qcow2 fs.img fs.qcow2
before=$(md5sum fs.qcow2)
dk cat -a fs.qcow2 -m /dev/sda /etc/hostname > out 2> err
printf 'replayed!' > want   # the file keeps its size (9 bytes)
same_file want out "replayed contents"
[ "$(wc -l < err)" = 1 ] && grep -q 'journal needs recovery; replayed 1 journal blocks in memory' err ||
  fail "warning: $(cat err)"
[ "$(md5sum fs.qcow2)" = "$before" ] || fail "the image changed"
echo PASS
