# `convert` keeps outputs sparse like qemu-img: zero ranges of the source
# are not allocated in a raw or qcow2 target (-S default 4k), and -S 0
# writes everything. Disk usage is compared with qemu-img's output.
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu
qemu-img create -q -f qcow2 src.qcow2 32M
qemu-io -f qcow2 -c 'write -P 0x5a 1M 64k' -c 'write -P 0 4M 1M' -c 'write -P 0x11 20M 4097' \
  src.qcow2 >/dev/null
kib() { du -k "$1" | cut -f1; }
for fmt in raw qcow2; do
  for s in "" "-S 0" "-S 64k"; do
    rm -f want.$fmt got.$fmt
    # shellcheck disable=SC2086
    qemu-img convert $s -O $fmt src.qcow2 want.$fmt
    # shellcheck disable=SC2086
    dk convert $s -O $fmt src.qcow2 got.$fmt || fail "diskit convert $s -O $fmt failed"
    qemu-img compare -q src.qcow2 got.$fmt || fail "convert $s -O $fmt: content differs"
    w=$(kib want.$fmt) g=$(kib got.$fmt)
    # Within 10% + 256 KiB of qemu-img's usage (file systems round differently).
    [ "$g" -le $((w + w / 10 + 256)) ] || fail "convert $s -O $fmt uses $g KiB, qemu-img $w KiB"
    [ "$g" -ge $((w - w / 10 - 256)) ] || fail "convert $s -O $fmt uses $g KiB, qemu-img $w KiB (too sparse?)"
  done
done
echo ok
