#!/usr/bin/env bash
# Speed of `diskit mount` (FUSE) on an ext4 guest in a qcow2, side by side in
# one run with the same work on a native directory and, when installed, with
# libguestfs' guestmount.
#
# The image (built once in BENCH_DIR) holds a 1 GiB file of incompressible
# data and a tree of a few thousand small files (/usr/share/doc of this
# machine). Each run remounts and drops the page cache first, so reads are
# cold. Prints, per run and as medians:
#   read MiB/s   sequential read of the 1 GiB file through the mount
#   walk ratio   find + stat over the tree through the mount / on a native copy
# guestmount (LIBGUESTFS_BACKEND=direct, TCG) boots a VM for each mount and
# reads at tens of MiB/s here, so it gets one run over the first 256 MiB.
#
# Usage: bench/mount.sh   (DISKIT=path, default build/diskit; BENCH_DIR,
#        default /tmp/diskit-bench-mount; RUNS, default 5). Needs root and
#        /dev/fuse.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
DISKIT=${DISKIT:-$here/build/diskit}
BENCH_DIR=${BENCH_DIR:-/tmp/diskit-bench-mount}
RUNS=${RUNS:-5}
[ -x "$DISKIT" ] || { echo "mount.sh: no diskit binary at $DISKIT (set DISKIT)" >&2; exit 1; }
[ -c /dev/fuse ] || { echo "mount.sh: /dev/fuse is missing" >&2; exit 1; }
command -v mkfs.ext4 >/dev/null || { echo "mount.sh: mkfs.ext4 (e2fsprogs) is needed" >&2; exit 1; }
mkdir -p "$BENCH_DIR"
cd "$BENCH_DIR"

if [ ! -f guest.qcow2 ]; then
  echo "building the image in $BENCH_DIR ..." >&2
  rm -rf tree native && mkdir -p tree/usr/share
  cp -a /usr/share/doc tree/usr/share/doc 2>/dev/null || true
  head -c 1G /dev/urandom > tree/big.bin
  rm -f guest.raw
  mkfs.ext4 -q -F -d tree guest.raw 2G
  qemu-img convert -O qcow2 guest.raw guest.qcow2
  rm -f tree/big.bin && mv tree native && rm -f guest.raw
fi

mnt=$BENCH_DIR/mnt
mkdir -p "$mnt"
cleanup() { "$DISKIT" umount "$mnt" >/dev/null 2>&1 || true; }
trap cleanup EXIT
drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }
now() { date +%s.%N; }
calc() { awk "BEGIN { print $1 }"; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
walk() { find "$1/usr/share/doc" -printf '%s %m %T@\n' | wc -l; }

reads=() ratios=()
printf '%-4s %12s %12s %12s %10s\n' run "read MiB/s" "walk fuse s" "walk native" ratio
for ((i = 1; i <= RUNS; i++)); do
  "$DISKIT" mount --ro -a guest.qcow2 -m /dev/sda "$mnt"
  drop
  t0=$(now); cat "$mnt/big.bin" > /dev/null; t1=$(now)
  mib=$(calc "1024 / ($t1 - $t0)")
  drop
  t0=$(now); walk "$mnt" > /dev/null; t1=$(now)
  "$DISKIT" umount "$mnt"
  drop
  t2=$(now); walk native > /dev/null; t3=$(now)
  wf=$(calc "$t1 - $t0"); wn=$(calc "$t3 - $t2")
  r=$(calc "$wf / $wn")
  reads+=("$mib") ratios+=("$r")
  printf '%-4s %12.0f %12.3f %12.3f %10.2f\n' "$i" "$mib" "$wf" "$wn" "$r"
done
printf '%-4s %12.0f %25s %10.2f\n' med "$(median "${reads[@]}")" "" "$(median "${ratios[@]}")"
echo "files walked: $(walk native)"

if command -v guestmount >/dev/null; then
  export LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg
  t0=$(now); guestmount --ro -a guest.qcow2 -m /dev/sda "$mnt"; t1=$(now)
  drop
  t2=$(now); head -c 256M "$mnt/big.bin" > /dev/null; t3=$(now)
  guestunmount "$mnt"
  printf 'guestmount: mount %.1f s, read %.0f MiB/s (256 MiB, one run)\n' \
    "$(calc "$t1 - $t0")" "$(calc "256 / ($t3 - $t2)")"
else
  echo "guestmount: not installed (libguestfs-tools), skipped"
fi
