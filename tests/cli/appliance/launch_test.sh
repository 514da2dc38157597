#!/bin/bash
# The appliance built into a scratch cache: `appliance build` boots it once
# and saves its state; launches then restore that state and hot-plug a
# writable and a read-only disk: ping and list-devices answered, the
# read-only image byte-identical afterwards. A damaged state is dropped and
# the appliance boots instead; DISKIT_APPLIANCE_SAVE=0 always boots.
source "$DK_TESTLIB"
require qemu-system-x86_64
require mkfs.ext4
ls /boot/vmlinuz-* >/dev/null 2>&1 || skip "no kernel in /boot (install linux-image-amd64)"
[ -x "$(dirname "$DISKIT")/diskit-agent" ] || skip "diskit-agent is not built"
export DISKIT_APPLIANCE_DIR=$T/cache

dk appliance build > build.out
grep -q 'built the appliance' build.out || fail "build: $(cat build.out)"
grep -q 'booted the appliance in .* and saved its state' build.out || fail "build saved no state: $(cat build.out)"
dk appliance build > build2.out
grep -q 'up to date' build2.out || fail "a second build was not cached"
grep -q 'booted' build2.out && fail "a second build booted again: $(cat build2.out)"
dk appliance info > info.out
grep -q '"current": true' info.out || fail "info does not say current"
state=$(sed -n 's/.*"saved_state": "\(.*\)".*/\1/p' info.out)
[ -f "$state" ] || fail "info names no saved state: $(cat info.out)"

truncate -s 32M ro.img
mkfs.ext4 -q -F ro.img
sum=$(sha256sum < ro.img)
qemu-img create -q -f qcow2 rw.qcow2 64M
dk appliance launch-test -a rw.qcow2 --ro-add ro.img --op ping --op list-devices > run.out ||
  fail "launch-test: $(cat run.out)"
grep -q '^launch-to-ready: .* (restored)$' run.out || fail "not restored: $(cat run.out)"
grep -q '^ping: {"pong":true}$' run.out || fail "ping: $(cat run.out)"
grep -q '^list-devices: \["/dev/sda","/dev/sdb"\]$' run.out || fail "list-devices: $(cat run.out)"
[ "$(sha256sum < ro.img)" = "$sum" ] || fail "the read-only image changed"
cat run.out

# A damaged state: QEMU refuses it, the launch boots and saves a new one.
head -c 1M /dev/urandom > "$state"
dk appliance launch-test -a rw.qcow2 > run2.out || fail "launch with a damaged state: $(cat run2.out)"
grep -q '^launch-to-ready: .* (booted)$' run2.out || fail "did not boot: $(cat run2.out)"
[ "$(stat -c %s "$state")" -gt 10000000 ] || fail "no new state saved"
DISKIT_APPLIANCE_SAVE=0 dk appliance launch-test --ro-add ro.img > run3.out || fail "SAVE=0: $(cat run3.out)"
grep -q '(booted)$' run3.out || fail "SAVE=0 restored: $(cat run3.out)"
[ "$(sha256sum < ro.img)" = "$sum" ] || fail "the read-only image changed"
cat run2.out run3.out
