#!/bin/bash
# One boot of the appliance built into a scratch cache: a writable and a
# read-only disk attached, ping and list-devices answered, the read-only
# image byte-identical afterwards.
source "$DK_TESTLIB"
require qemu-system-x86_64
require mkfs.ext4
ls /boot/vmlinuz-* >/dev/null 2>&1 || skip "no kernel in /boot (install linux-image-amd64)"
[ -x "$(dirname "$DISKIT")/diskit-agent" ] || skip "diskit-agent is not built"
export DISKIT_APPLIANCE_DIR=$T/cache

dk appliance build > build.out
grep -q 'built the appliance' build.out || fail "build: $(cat build.out)"
dk appliance build | grep -q 'up to date' || fail "a second build was not cached"
dk appliance info | grep -q '"current": true' || fail "info does not say current"

truncate -s 32M ro.img
mkfs.ext4 -q -F ro.img
sum=$(sha256sum < ro.img)
qemu-img create -q -f qcow2 rw.qcow2 64M
dk appliance launch-test -a rw.qcow2 --ro-add ro.img --op ping --op list-devices > run.out ||
  fail "launch-test: $(cat run.out)"
grep -q '^launch-to-ready: ' run.out || fail "no launch time: $(cat run.out)"
grep -q '^ping: {"pong":true}$' run.out || fail "ping: $(cat run.out)"
grep -q '^list-devices: \["/dev/sda","/dev/sdb"\]$' run.out || fail "list-devices: $(cat run.out)"
[ "$(sha256sum < ro.img)" = "$sum" ] || fail "the read-only image changed"
cat run.out
