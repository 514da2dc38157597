#!/bin/bash
# diskit run: boot the installed Debian kernel with a busybox initramfs,
# a read-only qcow2 chain (raw base + qcow2 overlay) as vda and a writable
# qcow2 as vdb, all served by diskit's in-process NBD server. The guest
# prints md5sum /dev/vda and writes a known pattern to /dev/vdb, then powers
# off. One boot (10-15 s under TCG) shared by every check.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/guest_kit.sh"
require qemu-img
require qemu-io

cat > init <<'SH'
#!/bin/sh
export PATH=/bin
busybox mount -t proc proc /proc
busybox mount -t sysfs sys /sys
busybox mount -t devtmpfs dev /dev
for m in $(busybox cat /modules); do busybox insmod /lib/modules/$m; done
i=0
while [ ! -b /dev/vdb ] && [ $i -lt 50 ]; do busybox sleep 0.1; i=$((i+1)); done
echo "VDA-MD5 $(busybox md5sum /dev/vda | busybox cut -d' ' -f1)"
busybox printf 'diskit-run-pattern' | busybox dd of=/dev/vdb bs=512 seek=2048 conv=notrunc,fsync 2>/dev/null
busybox sync
echo "GUEST-DONE"
busybox poweroff -f
SH
python3 "$HERE/mkinitramfs.py" initrd.img init "$KVER" virtio_pci virtio_blk || fail "building the initramfs"

# The read-only chain: a raw base with data, a qcow2 overlay changing part of it.
qemu-img create -q -f raw base.raw 4M
qemu-io -f raw -c 'write -P 0x11 0 1M' -c 'write -P 0x22 3M 64k' base.raw >/dev/null
qemu-img create -q -f qcow2 -F raw -b base.raw top.qcow2
qemu-io -f qcow2 -c 'write -P 0x33 512k 128k' top.qcow2 >/dev/null
qemu-img create -q -f qcow2 data.qcow2 8M
md5sum base.raw top.qcow2 > before.md5
qemu-img convert -O raw top.qcow2 chain.raw
want=$(md5sum < chain.raw | cut -d' ' -f1)

start=$(date +%s.%N)
capture boot timeout 120 "$DISKIT" run --kernel "$KERNEL" --initrd initrd.img \
  --append "console=ttyS0 quiet panic=-1" --memory 256M \
  --drive file=top.qcow2,format=qcow2,readonly=on --drive file=data.qcow2
end=$(date +%s.%N)
echo "boot to power-off: $(python3 -c "print(round($end - $start, 1))") s"
[ "$(cat boot.rc)" = 0 ] || { tail -20 boot.out boot.err >&2; fail "diskit run exited $(cat boot.rc)"; }
grep -q "accelerator: TCG\|accelerator: KVM" boot.err || fail "no accelerator choice on stderr"
grep -q GUEST-DONE boot.out || { tail -20 boot.out >&2; fail "the guest did not finish"; }
got=$(grep -a VDA-MD5 boot.out | tr -d '\r' | awk '{print $2}')
[ "$got" = "$want" ] || fail "guest md5sum of vda '$got' != chain '$want'"
qemu-io -f qcow2 -c 'read -P 0 0 1M' data.qcow2 > /dev/null || fail "vdb changed before the pattern"
qemu-img convert -O raw data.qcow2 data.raw
got=$(dd if=data.raw bs=1 skip=$((1 << 20)) count=18 status=none)
[ "$got" = diskit-run-pattern ] || fail "vdb at 1 MiB holds '$got', not the guest's pattern"
qemu-img check -q data.qcow2 || fail "data.qcow2 is not clean"
qemu-img check -q top.qcow2 || fail "top.qcow2 is not clean"
md5sum -c --quiet before.md5 || fail "the read-only chain changed"

# Errors: a missing kernel is one line and non-zero.
capture nokernel "$DISKIT" run --kernel "$T/no-such-kernel"
[ "$(cat nokernel.rc)" != 0 ] || fail "a missing kernel exited 0"
[ "$(wc -l < nokernel.err)" = 1 ] || { cat nokernel.err >&2; fail "missing kernel: expected one line on stderr"; }
grep -q "no-such-kernel" nokernel.err || fail "missing kernel: the message does not name the file"
echo PASS
