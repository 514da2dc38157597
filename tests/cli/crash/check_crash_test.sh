# check -r all killed at every point of its repair: running it again still
# repairs the image, qemu-img check then finds it clean, and the guest and
# snapshot content are what they were before any repair.
source "$(dirname "${BASH_SOURCE[0]}")/crash_lib.sh" || exit 1
has_command check || fail "diskit has no check command"
CRASH_IMAGES=img.qcow2

# set_refcounts IMG CLUSTER=VALUE...: overwrites refcount entries in place
# (16-bit refcounts, clusters covered by the first refcount block).
set_refcounts() {
  python3 - "$@" <<'PY'
import struct, sys
img, *sets = sys.argv[1:]
with open(img, "r+b") as f:
    h = f.read(112)
    cbits = struct.unpack(">I", h[20:24])[0]
    rt_off = struct.unpack(">Q", h[48:56])[0]
    assert struct.unpack(">I", h[4:8])[0] < 3 or struct.unpack(">I", h[96:100])[0] == 4
    f.seek(rt_off)
    block = struct.unpack(">Q", f.read(8))[0]
    for s in sets:
        c, v = map(int, s.split("="))
        assert c < (1 << cbits) // 2
        f.seek(block + 2 * c)
        f.write(struct.pack(">H", v))
PY
}

# Content references taken from the damaged image, before any repair.
take_refs() {
  as_raw img.qcow2 ref.raw
  if [ -n "$(qemu-img snapshot -U -l img.qcow2)" ]; then as_raw img.qcow2 s1.raw -l snapshot.name=s1; fi
}

crash_verify() {
  same_guest ref.raw img.qcow2
  if [ -e s1.raw ]; then
    as_raw img.qcow2 snap.raw -l snapshot.name=s1
    cmp -s snap.raw s1.raw || fail "snapshot s1 changed"
  fi
}

# A lazy-refcounts image left dirty by a writer that died (qemu-io abort):
# every refcount it allocated is missing.
crash_setup() {
  qemu-img create -q -f qcow2 -o cluster_size=4k,lazy_refcounts=on img.qcow2 8M
  qemu-io -c 'write -P 0x11 0 1M' img.qcow2 >/dev/null
  { qemu-io -c 'write -P 0x12 2M 1M' -c 'write -P 0x13 6M 600k' -c 'write -z 256k 64k' \
    -c abort img.qcow2 >/dev/null 2>&1 || true; } 2>/dev/null
  take_refs
}
crash_scenario "dirty lazy refcounts 4k" 60 8 -- dk check -r all img.qcow2

# Refcounts made wrong by hand: some referenced clusters at 0 (errors), some
# too high (leaks), clusters past the end marked used (leaks), and shared
# snapshot clusters at 1 (errors).
crash_setup() {
  qemu-img create -q -f qcow2 -o cluster_size=4k img.qcow2 8M
  qemu-io -c 'write -P 0x21 0 512k' -c 'write -P 0x22 4M 256k' img.qcow2 >/dev/null
  qemu-img snapshot -c s1 img.qcow2
  qemu-io -c 'write -P 0x23 128k 64k' -c 'write -P 0x24 5M 128k' img.qcow2 >/dev/null
  local end=$(( $(stat -c %s img.qcow2) / 4096 ))
  set_refcounts img.qcow2 10=1 11=1 12=0 40=0 41=3 $((end - 2))=0 $((end - 1))=7 \
    $((end + 3))=1 $((end + 4))=1
  take_refs
}
crash_scenario "wrong refcounts 4k" 60 8 -- dk check -r all img.qcow2

crash_setup() {
  qemu-img create -q -f qcow2 -o lazy_refcounts=on img.qcow2 64M
  qemu-io -c 'write -P 0x31 0 4M' img.qcow2 >/dev/null
  { qemu-io -c 'write -P 0x32 8M 2M' -c 'write -P 0x33 60M 4M' -c abort img.qcow2 >/dev/null 2>&1 || true; } 2>/dev/null
  take_refs
}
crash_scenario "dirty lazy refcounts 64k" 30 4 -- dk check -r all img.qcow2
crash_finish "check -r all"
