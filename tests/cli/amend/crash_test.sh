# Crash safety: amend is killed (SIGKILL injected by strace) before each of
# its writes in turn; every intermediate image must open, have the original
# guest content and snapshots, and show at most leaked clusters, which
# `check -r leaks` reclaims.
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu
require strace
strace -o /dev/null true 2>/dev/null || skip "strace cannot trace here"

qemu-img create -q -f qcow2 base.qcow2 8M
qemu-io -c 'write -P 0x11 0 8M' base.qcow2 >/dev/null

make_v3() {
  rm -f "$1"
  qemu-img create -q -f qcow2 ${2:-} "$1" 8M
  qemu-io -c 'write -P 1 0 256k' -c 'write -z 256k 256k' -c 'write -c -P 2 1M 64k' "$1" >/dev/null
  qemu-img snapshot -c s1 "$1"
  qemu-io -c 'write -z 0 64k' -c 'write -P 3 2M 64k' -c 'write -z 3M 128k' "$1" >/dev/null
}

snap_raw() { qemu-img convert -O raw -l snapshot.name=s1 "$1" "$2"; }

# crash_case NAME IMAGE OPTS: kills amend at each pwrite64 until it completes.
crash_case() {
  local name=$1 img=$2 opts=$3 n=1 rc
  snap_raw "$img" want-s1.raw
  while :; do
    cp "$img" c.qcow2
    set +e
    # An inner shell reports the kill (to /dev/null), not this one.
    bash -c '"$@"; exit $?' _ strace -f -o /dev/null -e trace=pwrite64 \
      -e inject=pwrite64:signal=KILL:when=$n "$DISKIT" amend -o "$opts" c.qcow2 >/dev/null 2>&1
    rc=$?
    set -e
    set +e; qemu-img check c.qcow2 >check.out 2>&1; local crc=$?; set -e
    [ "$crc" = 0 ] || [ "$crc" = 3 ] || { cat check.out >&2; fail "$name: image corrupt after a kill at write $n"; }
    grep -q 'ERROR' check.out && { cat check.out >&2; fail "$name: errors after a kill at write $n"; }
    qemu-img compare -q "$img" c.qcow2 || fail "$name: content changed by a kill at write $n"
    snap_raw c.qcow2 got-s1.raw
    cmp -s want-s1.raw got-s1.raw || fail "$name: snapshot changed by a kill at write $n"
    if [ "$crc" = 3 ]; then
      qemu-img check -q -r leaks c.qcow2 >/dev/null 2>&1 || true
      check_clean c.qcow2 qcow2
    fi
    [ "$rc" = 0 ] && break
    n=$((n + 1))
    [ $n -lt 400 ] || fail "$name: amend never completed"
  done
  echo "$name: $((n - 1)) kill points"
}

make_v3 a.qcow2
crash_case downgrade a.qcow2 compat=0.10
make_v3 b.qcow2 "-b base.qcow2 -F qcow2"
crash_case downgrade-backed b.qcow2 compat=0.10
crash_case refcount8 a.qcow2 refcount_bits=8
crash_case refcount64 a.qcow2 refcount_bits=64
qemu-img create -q -f qcow2 -o compat=0.10 v2.qcow2 8M
qemu-io -c 'write -P 1 0 256k' v2.qcow2 >/dev/null
qemu-img snapshot -c s1 v2.qcow2
python3 "$(dirname "$DK_TESTLIB")/amend/strip_snapshot_extra.py" v2.qcow2
crash_case upgrade v2.qcow2 compat=1.1,refcount_bits=2
crash_case lazy a.qcow2 lazy_refcounts=on
echo ok
