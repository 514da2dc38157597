# snapshot: killing diskit (SIGKILL) before any one of its writes leaves an
# image that `qemu-img check -r all` repairs into either the old or the new
# state, with every other snapshot intact. strace's fault injection delivers
# the kill just before the N-th pwrite64.
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu
require strace
strace -f -o /dev/null -e trace=pwrite64 true 2>/dev/null || skip "strace cannot trace here"

qio() { qemu-io -f qcow2 "$@" >/dev/null; }
raw_of() { qemu-img convert ${3:+-l "snapshot.name=$3"} -O raw "$1" "$2"; }
has_snap() { qemu-img snapshot -l "$1" | awk 'NR>2{print $2}' | grep -qx "$2"; }

rm -f base.qcow2
qemu-img create -q -f qcow2 -o cluster_size=4k base.qcow2 1M
qio -c 'write -P 1 0 512k' base.qcow2
raw_of base.qcow2 s1.raw
qemu-img snapshot -c s1 base.qcow2
qio -c 'write -P 2 256k 512k' base.qcow2
raw_of base.qcow2 s2.raw
qemu-img snapshot -c s2 base.qcow2
qio -c 'write -P 3 0 128k' base.qcow2
raw_of base.qcow2 cur.raw

# crash_op OP ARG [SYSCALL]: for each SYSCALL (pwrite64, or fdatasync: a
# kill before a barrier) of `snapshot OP ARG`, a run killed there.
crash_op() {
  local op=$1 arg=$2 sc=${3:-pwrite64} n k
  cp base.qcow2 t.qcow2
  strace -f -qq -o trace.txt -e trace=$sc "$DISKIT" snapshot "$op" "$arg" t.qcow2
  n=$(grep -c "$sc(" trace.txt)
  [ "$n" -gt 2 ] || fail "only $n $sc calls traced for $op"
  raw_of t.qcow2 after.raw
  for ((k = 1; k <= n; k++)); do
    cp base.qcow2 t.qcow2
    # (in a subshell, so bash's "Killed" notice goes to /dev/null too)
    (strace -f -qq -o /dev/null -e trace=$sc -e inject=$sc:signal=KILL:when=$k \
      "$DISKIT" snapshot "$op" "$arg" t.qcow2 || true) >/dev/null 2>&1
    qemu-img check -q -r all t.qcow2 >/dev/null 2>&1 || true
    check_clean t.qcow2 qcow2
    raw_of t.qcow2 now.raw
    case $op in
      -c) cmp -s now.raw cur.raw || fail "$op killed at write $k: active state changed"
          if has_snap t.qcow2 "$arg"; then raw_of t.qcow2 x.raw "$arg"; same_file cur.raw x.raw "new snapshot (kill at $k)"; fi ;;
      -a) cmp -s now.raw cur.raw || cmp -s now.raw after.raw || fail "$op killed at write $k: mixed state" ;;
      -d) cmp -s now.raw cur.raw || fail "$op killed at write $k: active state changed" ;;
    esac
    for s in s1 s2; do
      [ "$op $arg" = "-d $s" ] && ! has_snap t.qcow2 $s && continue
      has_snap t.qcow2 $s || fail "$op killed at write $k: snapshot $s lost"
      raw_of t.qcow2 x.raw $s
      same_file $s.raw x.raw "snapshot $s after $op killed at write $k"
    done
  done
  echo "$op $arg: $n crash points before $sc"
}

crash_op -c s3
crash_op -a s1
crash_op -d s1
crash_op -d s2
crash_op -c s3 fdatasync
crash_op -a s2 fdatasync
crash_op -d s1 fdatasync
echo ok
