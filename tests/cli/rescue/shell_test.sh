#!/bin/bash
# diskit rescue: a shell in the appliance reading this test's stdin (one
# TCG boot, 10-15 s). The qcow2 disk is served by diskit's NBD export: the
# shell sees it as /dev/vda, writes a marker to it, and the marker is in
# the image afterwards with `qemu-img check` clean.
source "$DK_TESTLIB"
require qemu-system-x86_64
require qemu-img
ls /boot/vmlinuz-* >/dev/null 2>&1 || skip "no kernel in /boot (install linux-image-amd64)"
[ -x "$(dirname "$DISKIT")/diskit-agent" ] || skip "diskit-agent is not built"

qemu-img create -q -f qcow2 disk.qcow2 64M
# Input typed before the guest's serial driver is up is lost, as on a real
# console: the commands are sent once the banner is out.
mkfifo in.fifo
(
  for _ in $(seq 600); do grep -aq 'Type exit' out.txt 2>/dev/null && break; sleep 0.1; done
  sleep 0.5
  printf 'ls /dev/vd*\necho dk-rescue-marker | dd of=/dev/vda bs=512 seek=8 conv=notrunc,sync 2>/dev/null; sync\nexit\n'
  sleep 60  # keeps the pipe open until the guest is gone
) > in.fifo &
writer=$!
timeout 300 "$DISKIT" rescue -a disk.qcow2 < in.fifo > out.txt 2> err.txt || fail "rescue exited $?: $(cat err.txt)"
kill $writer 2>/dev/null
grep -aq 'diskit rescue: the disks are /dev/sda' out.txt || fail "no banner: $(cat out.txt)"
tr -d '\r' < out.txt | grep -aqx '/dev/vda' || fail "the shell did not list /dev/vda: $(cat out.txt)"
qemu-img check -q disk.qcow2 || fail "qemu-img check"
qemu-img convert -O raw disk.qcow2 disk.raw
[ "$(dd if=disk.raw bs=512 skip=8 count=1 2>/dev/null | head -c 16)" = dk-rescue-marker ] ||
  fail "the marker is not in the image"
