# amend matches qemu-img amend on qcow2 images qemu made: same exit status,
# stdout and stderr, same `qemu-img info` (size, format-specific data,
# snapshots), a clean `qemu-img check`, and the guest content of the
# original image (and of each snapshot) unchanged.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu
STRIP="python3 $HERE/strip_snapshot_extra.py"

qemu-img create -q -f qcow2 base.qcow2 4M
qemu-io -c 'write -P 0x11 0 4M' base.qcow2 >/dev/null

# Data, plain and allocated zero clusters, a compressed cluster.
MIX=(-c 'write -P 0x22 0 128k' -c 'write -z 128k 128k' -c 'write -c -P 0x44 512k 64k'
     -c 'write -P 0x33 256k 64k' -c 'write -z 256k 64k')
# Two snapshots, with zero clusters before and after each.
snaps() {
  qemu-img snapshot -c s1 "$1"
  qemu-io -c 'write -z 0 64k' -c 'write -P 5 1M 64k' -c 'write -z 1M 64k' "$1" >/dev/null
  qemu-img snapshot -c s2 "$1"
  qemu-io -c 'write -P 7 2M 64k' -c 'write -z 3M 64k' "$1" >/dev/null
}

info_key() {
  qemu-img info --output=json "$1" | python3 -c '
import json, sys
d = json.load(sys.stdin)
for s in d.get("snapshots", []):
    s.pop("date-sec", None); s.pop("date-nsec", None)
print(json.dumps([d["virtual-size"], d.get("format-specific"), d.get("snapshots"),
                  d.get("backing-filename"), d.get("backing-filename-format")], sort_keys=True))'
}

# amend_case NAME "CREATE OPTS" SETUP-FUNC AMEND-OPTS: SETUP-FUNC fills want.qcow2.
amend_case() {
  local name=$1 create=$2 setup=$3 opts=$4
  rm -f want.qcow2 got.qcow2 orig.qcow2
  # shellcheck disable=SC2086
  qemu-img create -q -f qcow2 $create want.qcow2 4M
  $setup want.qcow2
  cp want.qcow2 got.qcow2
  cp want.qcow2 orig.qcow2
  capture want qemu-img amend -o "$opts" want.qcow2
  capture got dk amend -o "$opts" got.qcow2
  # qemu-img reports the repair of a dirty image on open; diskit repairs silently.
  sed -e '/^Repairing cluster\|^Rebuilding refcount\|^ERROR cluster .* reference=/d' \
      -e 's/^qemu-img: /diskit: amend: /' want.err >want.err2
  same_file want.rc got.rc "exit status of amend $name ($opts)"
  same_file want.out got.out "stdout of amend $name ($opts)"
  same_file want.err2 got.err "stderr of amend $name ($opts)"
  [ "$(info_key want.qcow2)" = "$(info_key got.qcow2)" ] ||
    fail "info differs after amend $name ($opts): $(info_key want.qcow2) vs $(info_key got.qcow2)"
  check_clean got.qcow2 qcow2
  qemu-img compare -q want.qcow2 got.qcow2 || fail "content differs from qemu-img's after amend $name ($opts)"
  # Guest content is unchanged (a shrink drops what lies past the new end).
  if [ "$(cat got.rc)" = 0 ] && [[ $opts != *size=* ]]; then
    qemu-img compare -q orig.qcow2 got.qcow2 || fail "amend $name ($opts) changed the guest content"
  fi
  local s
  for s in $(qemu-img snapshot -l orig.qcow2 | awk 'NR > 2 {print $2}'); do
    # (A snapshot reads at the current size: compare with the original only when it is unchanged.)
    qemu-img convert -O raw -l "snapshot.name=$s" orig.qcow2 a.raw
    qemu-img convert -O raw -l "snapshot.name=$s" want.qcow2 w.raw
    qemu-img convert -O raw -l "snapshot.name=$s" got.qcow2 b.raw
    # qemu-img 7.2's downgrade zeroes clusters a snapshot still shares
    # (the snapshot's content changes, check reports OFLAG_COPIED errors):
    # diskit's snapshots must keep their content instead.
    if [[ $opts == *size=* ]]; then
      cmp -s w.raw b.raw || fail "snapshot $s differs from qemu-img's after amend $name ($opts)"
    else
      cmp -s a.raw b.raw || fail "snapshot $s content changed by amend $name ($opts)"
    fi
  done
}

none() { :; }
mix() { qemu-io "${MIX[@]}" "$1" >/dev/null; }
mix_snaps() { mix "$1"; snaps "$1"; }
data() { qemu-io -c 'write -P 0x22 0 1M' -c 'write -c -P 3 2M 64k' "$1" >/dev/null; }
data_nc() { qemu-io -c 'write -P 0x22 0 1M' "$1" >/dev/null; }  # no compression (data files)
data_snaps() { data "$1"; snaps "$1"; }
v2_old_snaps() { data "$1"; snaps "$1"; $STRIP "$1"; }
# qemu-io killed after writing with lazy refcounts leaves the dirty bit set.
dirty() { bash -c 'qemu-io -c "write -P 9 0 64k" -c "write -z 64k 64k" -c "sigraise 9" "$1"; true' _ "$1" >/dev/null 2>&1 || true; }
bitmap() { qemu-img bitmap --add "$1" b0; }
grown_after_snapshot() { data "$1"; qemu-img snapshot -c s1 "$1"; qemu-img resize -q "$1" 8M; }
zeros() { qemu-io -c 'write -P 1 0 64k' -c 'write -z 64k 64k' "$1" >/dev/null; }

# Downgrade: zero clusters expanded (unallocated without a backing file,
# zeroed clusters with one), in snapshots too; the header becomes v2.
amend_case plain "" mix compat=0.10
amend_case backed "-b base.qcow2 -F qcow2" mix compat=0.10
amend_case snaps "" mix_snaps compat=0.10
amend_case backed-snaps "-b base.qcow2 -F qcow2" mix_snaps compat=0.10
amend_case lazy "-o lazy_refcounts=on" mix compat=0.10
amend_case dirty "-o lazy_refcounts=on" dirty compat=0.10
amend_case zstd "-o compression_type=zstd" zeros compat=0.10
amend_case backing-kept "-b base.qcow2 -F qcow2" mix compat=0.10,backing_file=base.qcow2,backing_fmt=qcow2
# Upgrade, including v2 snapshots without extra data (old QEMU).
amend_case upgrade "-o compat=0.10" data_snaps compat=1.1
amend_case upgrade-old-snaps "-o compat=0.10" v2_old_snaps compat=1.1
amend_case upgrade-backed "-o compat=0.10 -b base.qcow2 -F qcow2" data compat=v3
amend_case upgrade-lazy "-o compat=0.10" data compat=1.1,lazy_refcounts=on
amend_case upgrade-rc "-o compat=0.10" data_snaps compat=1.1,refcount_bits=4
# Lazy refcounts and size.
amend_case lazy-on "" data lazy_refcounts=on
amend_case lazy-off "-o lazy_refcounts=on" data lazy_refcounts=off
amend_case lazy-off-dirty "-o lazy_refcounts=on" dirty lazy_refcounts=off
amend_case grow "" data size=8M
amend_case shrink "" data size=2M
amend_case grow-downgrade "" mix size=8M,compat=0.10
amend_case raw-off "-o data_file=d.raw,data_file_raw=on" data_nc data_file_raw=off
# Refusals: same message and status, image unchanged.
amend_case r-zstd "-o compression_type=zstd" data compat=0.10
amend_case r-extl2 "-o extended_l2=on" data compat=0.10
amend_case r-datafile "-o data_file=d.raw" data_nc compat=0.10
amend_case r-rc8 "-o refcount_bits=8" data compat=0.10
amend_case r-snapsize "" grown_after_snapshot compat=0.10
amend_case r-v2-rc "" data compat=0.10,refcount_bits=8
amend_case r-v2-lazy "" data compat=0.10,lazy_refcounts=on
amend_case r-rc1 "" data_snaps refcount_bits=1
amend_case r-backing "-b base.qcow2 -F qcow2" data backing_file=other.qcow2
amend_case r-backing-fmt "" data backing_fmt=raw
amend_case r-data-file "" data data_file=x.raw
amend_case r-data-file-raw "" data data_file_raw=on
amend_case r-encrypt "" data encrypt.state=active
amend_case r-compat "" data compat=2
amend_case r-rcbits "" data refcount_bits=3
amend_case r-rcnum "" data refcount_bits=16k
amend_case r-bool "" data lazy_refcounts=maybe
amend_case r-size "" data size=abc
amend_case r-create-only "" data cluster_size=4k
amend_case r-unknown "" data foo=1
amend_case r-size-512 "" data size=5000000
amend_case r-v2-snap-size "-o compat=0.10" data_snaps size=8M
amend_case snap-grow "" data_snaps size=8M

# Persistent bitmaps cannot live in a v2 image: qemu-img 7.2 keeps their
# directory where nothing reads it (leaking its clusters); diskit refuses.
qemu-img create -q -f qcow2 bm.qcow2 4M
bitmap bm.qcow2
expect_status 1 dk amend -o compat=0.10 bm.qcow2 2>bm.err
grep -q 'Cannot downgrade an image with persistent bitmaps' bm.err || fail "bitmap refusal: $(cat bm.err)"
[ "$(qemu-img info --output=json bm.qcow2 2>/dev/null | python3 -c 'import json,sys;print(json.load(sys.stdin)["format-specific"]["data"]["compat"])')" = 1.1 ] ||
  fail "refused downgrade changed the version"

# Header bytes: the downgraded and upgraded headers are qemu-img's.
for c in "compat=0.10:" "compat=1.1:-o compat=0.10"; do
  rm -f h1.qcow2 h2.qcow2
  qemu-img create -q -f qcow2 ${c#*:} -b base.qcow2 -F qcow2 h1.qcow2 4M
  cp h1.qcow2 h2.qcow2
  qemu-img amend -o "${c%%:*}" h1.qcow2
  dk amend -o "${c%%:*}" h2.qcow2
  cmp -s <(head -c 65536 h1.qcow2) <(head -c 65536 h2.qcow2) || fail "header cluster differs after ${c%%:*}"
done
echo ok
