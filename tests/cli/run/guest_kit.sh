# Sourced by the diskit run tests (after lib.sh): what booting a test guest
# needs. Skips unless QEMU, python3, busybox-static and an installed kernel
# with its modules are there; sets HERE (this folder), KERNEL and KVER.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
require qemu-system-x86_64
require python3
[ -x /bin/busybox ] || skip "busybox (busybox-static) is not installed"
KERNEL=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -1)
[ -n "$KERNEL" ] || skip "no kernel in /boot/vmlinuz-*"
KVER=${KERNEL#/boot/vmlinuz-}
[ -f "/lib/modules/$KVER/modules.dep" ] || skip "no modules for $KVER"
[ -r "$KERNEL" ] || skip "$KERNEL is not readable"
