# snapshot: snapshots made by qemu-img are applied and deleted by diskit and
# the other way round, with qemu-io writing between them. After every step
# `qemu-img check` is clean and every snapshot and the active state read
# back (through qemu-img) as the data they captured.
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu

# state IMG OUT [SNAP]: the guest content (of snapshot SNAP) as raw.
state() {
  if [ -n "${3:-}" ]; then
    qemu-img convert -l "snapshot.name=$3" -O raw "$1" "$2"
  else
    qemu-img convert -O raw "$1" "$2"
  fi
}
# same_state IMG RAW [SNAP]
same_state() { state "$1" cur.raw "${3:-}"; same_file "$2" cur.raw "content of $1 ${3:+snapshot $3}"; }
qio() { qemu-io -f qcow2 "$@" >/dev/null; }
ok() { check_clean "$1" qcow2; }

# scenario OPTS [compress]: one full round trip on an image made with -o OPTS.
scenario() {
  local opts=$1 compress=${2:-}
  echo "== $opts $compress"
  rm -f a.qcow2 b.qcow2
  qemu-img create -q -f qcow2 -o "$opts" a.qcow2 4M
  qio -c 'write -P 1 0 1M' -c 'write -P 2 2M 64k' a.qcow2
  if [ -n "$compress" ]; then
    qemu-img convert -c -O qcow2 -o "$opts" a.qcow2 b.qcow2
    mv b.qcow2 a.qcow2
  fi
  state a.qcow2 st0.raw
  qemu-img snapshot -c q1 a.qcow2
  qio -c 'write -P 3 512k 1M' -c 'write -z 3M 64k' -c 'discard 0 64k' a.qcow2
  state a.qcow2 st1.raw
  dk snapshot -c d1 a.qcow2
  ok a.qcow2
  same_state a.qcow2 st1.raw d1
  qio -c 'write -P 4 100k 300k' -c 'write -P 5 3900k 100k' a.qcow2
  state a.qcow2 st2.raw
  same_state a.qcow2 st0.raw q1
  same_state a.qcow2 st1.raw d1
  ok a.qcow2

  # diskit reverts to qemu-img's snapshot; writes after it must not leak
  # into the snapshots (COPIED flags and refcounts right).
  dk snapshot -a q1 a.qcow2
  ok a.qcow2
  same_state a.qcow2 st0.raw
  qio -c 'write -P 6 0 2M' a.qcow2
  state a.qcow2 st3.raw
  ok a.qcow2
  same_state a.qcow2 st0.raw q1
  same_state a.qcow2 st1.raw d1

  # qemu-img reverts to diskit's snapshot.
  qemu-img snapshot -a d1 a.qcow2
  ok a.qcow2
  same_state a.qcow2 st1.raw

  # diskit deletes qemu-img's snapshot, qemu-img deletes diskit's.
  dk snapshot -d q1 a.qcow2
  ok a.qcow2
  same_state a.qcow2 st1.raw d1
  same_state a.qcow2 st1.raw
  qemu-img snapshot -d d1 a.qcow2
  ok a.qcow2
  same_state a.qcow2 st1.raw

  # diskit alone: create two, delete one, apply and delete the other.
  dk snapshot -c d2 a.qcow2
  qio -c 'write -P 7 1M 1M' a.qcow2
  state a.qcow2 st4.raw
  dk snapshot -c d3 a.qcow2
  qio -c 'write -P 8 0 4M' a.qcow2
  ok a.qcow2
  qemu-img snapshot -d d2 a.qcow2
  ok a.qcow2
  dk snapshot -a d3 a.qcow2
  ok a.qcow2
  same_state a.qcow2 st4.raw
  dk snapshot -d d3 a.qcow2
  ok a.qcow2
  same_state a.qcow2 st4.raw
  # With no snapshot left every cluster is writable in place again.
  qio -c 'write -P 9 0 4M' a.qcow2
  ok a.qcow2
  [ "$(qemu-img snapshot -l a.qcow2)" = "" ] || fail "snapshots left over"
  check_out=$(qemu-img check a.qcow2)
  echo "$check_out" | grep -q 'No errors' || fail "check: $check_out"
}

scenario "cluster_size=64k"
scenario "cluster_size=4k"
scenario "cluster_size=512"
scenario "extended_l2=on,cluster_size=64k"
scenario "compat=0.10"
scenario "lazy_refcounts=on"
scenario "refcount_bits=64"
scenario "refcount_bits=4"
scenario "cluster_size=64k" compress
scenario "extended_l2=on,cluster_size=128k" compress

# A snapshot made by diskit lists and stores like qemu-img's (all but the date).
rm -f q.qcow2 d.qcow2
qemu-img create -q -f qcow2 q.qcow2 4M
qio -c 'write -P 1 0 1M' q.qcow2
cp q.qcow2 d.qcow2
qemu-img snapshot -c one q.qcow2 && qemu-img snapshot -c two q.qcow2 && qemu-img snapshot -c one q.qcow2
dk snapshot -c one d.qcow2 && dk snapshot -c two d.qcow2 && dk snapshot -c one d.qcow2
qemu-img snapshot -l q.qcow2 | cut -c1-35,56- >q.list
dk snapshot -l d.qcow2 | cut -c1-35,56- >d.list
same_file q.list d.list "snapshot list (dates masked)"
qemu-img snapshot -l d.qcow2 | cut -c1-35,56- >d2.list
same_file q.list d2.list "qemu-img's listing of diskit's snapshots"
mask='import json,sys
i=json.load(sys.stdin)
for s in i.get("snapshots",[]): s["date-sec"]=s["date-nsec"]=0
i.pop("filename"); i.pop("actual-size"); print(json.dumps(i,sort_keys=True))'
qemu-img info --output=json q.qcow2 | python3 -c "$mask" >q.json
qemu-img info --output=json d.qcow2 | python3 -c "$mask" >d.json
same_file q.json d.json "info of snapshots (dates masked)"
ok d.qcow2
# Deleting a duplicate name deletes the first, as qemu-img does.
qemu-img snapshot -d one q.qcow2
dk snapshot -d one d.qcow2
qemu-img snapshot -l q.qcow2 | cut -c1-35,56- >q.list
dk snapshot -l d.qcow2 | cut -c1-35,56- >d.list
same_file q.list d.list "listing after deleting a duplicate name"
# -a takes an id before a name: snapshot id 3 is named "one"; make one named "3"... 
dk snapshot -c 2 d.qcow2    # id 4, named "2"
qio -c 'write -P 0x42 0 64k' d.qcow2
dk snapshot -a 2 d.qcow2    # id 2 ("two"), not the one named "2"
qemu-img convert -O raw d.qcow2 x.raw
state d.qcow2 y.raw two
same_file y.raw x.raw "apply by id"
ok d.qcow2

# Reverting restores the virtual size of the snapshot (grown and shrunk).
rm -f z.qcow2
qemu-img create -q -f qcow2 z.qcow2 4M
qio -c 'write -P 1 0 4M' z.qcow2
state z.qcow2 z4.raw
dk snapshot -c at4 z.qcow2
qemu-img resize -q z.qcow2 9M
qio -c 'write -P 2 6M 3M' z.qcow2
state z.qcow2 z9.raw
qemu-img snapshot -c at9 z.qcow2
qemu-img resize -q --shrink z.qcow2 1M
ok z.qcow2
dk snapshot -a at4 z.qcow2
ok z.qcow2
same_state z.qcow2 z4.raw
dk snapshot -a at9 z.qcow2
ok z.qcow2
same_state z.qcow2 z9.raw
qio -c 'write -P 3 8M 1M' z.qcow2
dk snapshot -a at4 z.qcow2
same_state z.qcow2 z4.raw
dk snapshot -d at9 z.qcow2
dk snapshot -d at4 z.qcow2
ok z.qcow2
same_state z.qcow2 z4.raw

# refcount_bits=1: a snapshot of allocated data would overflow a refcount;
# qemu-img fails with EINVAL (and leaks a cluster); diskit fails the same
# way and leaves the image byte for byte unchanged.
rm -f one.qcow2
qemu-img create -q -f qcow2 -o refcount_bits=1 one.qcow2 1M
qio -c 'write -P 1 0 64k' one.qcow2
cp one.qcow2 one.orig
capture r1 dk snapshot -c s one.qcow2
[ "$(cat r1.rc)" = 1 ] || fail "refcount_bits=1 snapshot exited $(cat r1.rc)"
[ "$(cat r1.err)" = "diskit: snapshot: Could not create snapshot 's': -22 (Invalid argument)" ] ||
  fail "refcount_bits=1 message: $(cat r1.err)"
same_file one.orig one.qcow2 "refcount_bits=1 image after a failed snapshot"
ok one.qcow2
# refcount_bits=2 with two snapshots: qemu-img's revert adds the snapshot's
# references before dropping the current ones and overflows; diskit only
# changes what differs, so it reverts, and leaves a clean image.
rm -f two.qcow2
qemu-img create -q -f qcow2 -o refcount_bits=2 two.qcow2 4M
qio -c 'write -P 1 0 1M' two.qcow2
qemu-img snapshot -c q1 two.qcow2
qemu-img snapshot -c q2 two.qcow2
qio -c 'write -P 2 0 64k' two.qcow2
dk snapshot -a q1 two.qcow2
ok two.qcow2
qemu-img convert -O raw two.qcow2 two.raw
state two.qcow2 two1.raw q1
same_file two1.raw two.raw "refcount_bits=2 revert"
# Without allocated clusters the snapshot works (as in qemu-img), and goes.
rm -f one.qcow2
qemu-img create -q -f qcow2 -o refcount_bits=1 one.qcow2 1M
dk snapshot -c s one.qcow2
ok one.qcow2
dk snapshot -a s one.qcow2
dk snapshot -d s one.qcow2
ok one.qcow2

# A lazy-refcounts image left dirty is repaired on open, then snapshotted.
rm -f lz.qcow2
qemu-img create -q -f qcow2 -o lazy_refcounts=on lz.qcow2 4M
qemu-io -c 'write -P 1 0 1M' -c abort lz.qcow2 >/dev/null 2>&1 || true
state lz.qcow2 lz.raw
dk snapshot -c s lz.qcow2
ok lz.qcow2
same_state lz.qcow2 lz.raw s
echo ok
