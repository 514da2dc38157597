# check on qcow2 matches qemu-img check: the same exit status, report
# (human and JSON) and diagnostics on clean and damaged images, and the
# same repairs with -r (qemu-img then checks both repaired images alike,
# clean for every damage QEMU can repair, and they keep their data).
DAMAGE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/damage.py"
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu
require python3

# same_check NAME ARGS...: `check ARGS img.qcow2` in want/ (qemu-img) and
# got/ (diskit) agree on exit status, stdout and stderr.
same_check() {
  local name=$1; shift
  (cd want && capture ../want qemu-img check "$@" img.qcow2)
  (cd got && capture ../got "$DISKIT" check "$@" img.qcow2)
  same_file want.rc got.rc "exit status of check $* ($name)"
  same_file want.out got.out "stdout of check $* ($name)"
  sed 's/^qemu-img: /diskit: check: /' want.err >want.err2
  same_file want.err2 got.err "stderr of check $* ($name)"
}

# case_ NAME DAMAGE: the image in base.qcow2 damaged by DAMAGE (or "none")
# is checked and repaired the same way by both tools.
case_() {
  local name=$1 damage=$2
  rm -rf want got && mkdir want got
  cp base.qcow2 want/img.qcow2
  [ "$damage" = none ] || python3 "$DAMAGE" want/img.qcow2 "$damage"
  cp want/img.qcow2 got/img.qcow2
  same_check "$name" --output=human
  same_check "$name" --output=json
  same_check "$name" -r leaks
  same_check "$name" -r all
  # qemu-img itself finds the two repaired images in the same state (clean
  # unless the damage is one QEMU cannot repair, like an L2 table past EOF).
  (cd want && capture ../want qemu-img check img.qcow2)
  (cd got && capture ../got qemu-img check img.qcow2)
  same_file want.rc got.rc "qemu-img check status after repair ($name)"
  same_file want.out got.out "qemu-img check after repair ($name)"
  same_content -f qcow2 -F qcow2 want/img.qcow2 got/img.qcow2
}

images() {
  # plain, with a hole between the data runs
  qemu-img create -q -f qcow2 base.qcow2 64M
  qemu-io -c 'write -P 1 0 1M' -c 'write -P 2 8M 512k' -c 'write -P 3 40M 64k' base.qcow2 >/dev/null
}

images
case_ clean none
for d in leak shared refzero refinc copied l1copied l2eof dataeof overlap; do case_ "$d" "$d"; done

# 4 KiB clusters, refcount_bits 1 and 64, extended L2, compressed clusters.
for opts in cluster_size=4096 refcount_bits=1 refcount_bits=64 extended_l2=on,cluster_size=64k; do
  qemu-img create -q -f qcow2 -o "$opts" base.qcow2 32M
  qemu-io -c 'write -P 1 0 300k' -c 'write -P 2 1M 64k' -c 'write -P 4 5M 4k' base.qcow2 >/dev/null
  case_ "$opts clean" none
  for d in leak refzero copied; do case_ "$opts $d" "$d"; done
done
head -c 2M /dev/urandom >src.raw
python3 -c "import sys; sys.stdout.write('diskit\\n' * 300000)" >>src.raw
qemu-img convert -c -O qcow2 src.raw base.qcow2
case_ compressed none
case_ "compressed leak" leak

# Internal snapshots: shared clusters (refcount 2, no OFLAG_COPIED).
qemu-img create -q -f qcow2 base.qcow2 16M
qemu-io -c 'write -P 1 0 1M' base.qcow2 >/dev/null
qemu-img snapshot -c s1 base.qcow2
qemu-io -c 'write -P 2 0 128k' base.qcow2 >/dev/null
qemu-img snapshot -c s2 base.qcow2
case_ snapshots none
case_ "snapshots leak" leak
case_ "snapshots copied" copied

# Persistent bitmaps: their directory and tables are references too.
images
qemu-img bitmap --add base.qcow2 b0
qemu-img bitmap --add base.qcow2 b1
# (Only read-only checks are compared: qemu-img rewrites the bitmaps
# whenever it opens the image for writing, which moves clusters.)
for d in none leak; do
  rm -rf want got && mkdir want got && cp base.qcow2 want/img.qcow2
  [ $d = none ] || python3 "$DAMAGE" want/img.qcow2 $d
  cp want/img.qcow2 got/img.qcow2
  same_check "bitmaps $d"
  same_check "bitmaps $d" --output=json
  dk check -q -r all got/img.qcow2 2>/dev/null
  check_clean got/img.qcow2 qcow2
  [ "$(qemu-img info --output=json got/img.qcow2 | grep -c '"name": "b[01]"')" = 2 ] || fail "bitmaps lost"
done

# A lazy-refcounts image left dirty: checked read-only as it is.
qemu-img create -q -f qcow2 -o lazy_refcounts=on base.qcow2 8M
qemu-io -c 'write -P 0x12 0 1M' -c abort base.qcow2 >/dev/null 2>&1 || true
rm -rf want got && mkdir want got && cp base.qcow2 want/img.qcow2 && cp base.qcow2 got/img.qcow2
same_check dirty --output=json
same_check dirty
# ... and repaired by the check, not silently by the writable open.
same_check dirty -r all
same_check dirty

# An image marked corrupt opens for repair, which clears the mark.
images
rm -rf want got && mkdir want got
python3 "$DAMAGE" base.qcow2 leak
printf '\x02' | dd of=base.qcow2 bs=1 seek=79 conv=notrunc status=none
cp base.qcow2 want/img.qcow2 && cp base.qcow2 got/img.qcow2
same_check corrupt
same_check corrupt -r all
same_check corrupt

# Options: -q, a bad -r value, two file names, -U with -r.
images
rm -rf want got && mkdir want got && cp base.qcow2 want/img.qcow2 && cp base.qcow2 got/img.qcow2
python3 "$DAMAGE" want/img.qcow2 leak && python3 "$DAMAGE" got/img.qcow2 leak
same_check quiet -q
expect_status 1 dk check -r some got/img.qcow2 2>/dev/null
expect_status 1 dk check got/img.qcow2 got/img.qcow2 2>/dev/null
expect_status 1 dk check -U -r leaks got/img.qcow2 2>/dev/null
expect_status 1 dk check --image-opts got/img.qcow2 2>/dev/null
echo OK
