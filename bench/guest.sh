#!/usr/bin/env bash
# Wall time of the guest tools on a realistic qcow2 guest, and of
# libguestfs' virt-ls / virt-cat / virt-inspector on the same image when
# they are installed (side by side, interleaved, medians of RUNS).
#
# The guest is a Debian-like root built from this machine's own files: /etc,
# /usr/share/doc (thousands of small files), /usr/bin/dash as /bin/sh (for the
# architecture), the host's dpkg status (hundreds of installed packages), a
# /bin -> usr/bin link and a 20 MiB file, in an ext4 file system made with
# mkfs.ext4 -d, converted to qcow2 by qemu-img.
#
# Usage: bench/guest.sh   (DISKIT=path, default build/diskit; BENCH_DIR,
#        default /tmp/diskit-bench-guest; RUNS, default 5)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
DISKIT=${DISKIT:-$here/build/diskit}
BENCH_DIR=${BENCH_DIR:-/tmp/diskit-bench-guest}
RUNS=${RUNS:-5}
[ -x "$DISKIT" ] || { echo "guest.sh: no diskit binary at $DISKIT (set DISKIT)" >&2; exit 1; }
command -v mkfs.ext4 >/dev/null || { echo "guest.sh: mkfs.ext4 (e2fsprogs) is needed" >&2; exit 1; }
mkdir -p "$BENCH_DIR"
cd "$BENCH_DIR"

if [ ! -f guest.qcow2 ]; then
  echo "building the guest in $BENCH_DIR ..." >&2
  rm -rf tree && mkdir -p tree/usr/bin tree/usr/share tree/var/lib/dpkg tree/boot tree/home tree/root
  cp -a /etc tree/etc 2>/dev/null || true
  cp -a /usr/share/doc tree/usr/share/doc 2>/dev/null || true
  cp /usr/bin/dash tree/usr/bin/sh
  ln -s usr/bin tree/bin
  cp /var/lib/dpkg/status tree/var/lib/dpkg/status
  printf 'bench-guest\n' > tree/etc/hostname
  printf 'LABEL=benchroot / ext4 defaults 0 1\n' > tree/etc/fstab
  head -c 20M /dev/urandom > tree/big.bin
  rm -f guest.raw
  mkfs.ext4 -q -F -L benchroot -d tree guest.raw 1G
  qemu-img convert -O qcow2 guest.raw guest.qcow2
  rm -rf tree guest.raw
fi

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
timed() { /usr/bin/time -f '%e' -o "$BENCH_DIR/.t" "$@" >/dev/null 2>&1 || { echo nan; return; }; cat "$BENCH_DIR/.t"; }

printf '%-26s %10s %s\n' command "median s" "(runs: $RUNS)"
row() {
  local name=$1
  shift
  local t=()
  for ((i = 0; i < RUNS; i++)); do t+=("$(timed "$@")"); done
  printf '%-26s %10s\n' "$name" "$(median "${t[@]}")"
}

D=$DISKIT
row "diskit ls -R /usr/share" "$D" ls -R -a guest.qcow2 /usr/share
row "diskit cat /big.bin" "$D" cat -a guest.qcow2 /big.bin
if "$D" --help 2>/dev/null | grep -qE '^  inspect '; then
  row "diskit inspect" "$D" inspect -a guest.qcow2
fi
echo "files in the guest: $("$D" ls -R -a guest.qcow2 / | wc -l)"

if command -v virt-ls >/dev/null; then
  export LIBGUESTFS_BACKEND=${LIBGUESTFS_BACKEND:-direct}
  RUNS=1
  row "virt-ls -R /usr/share" virt-ls -R -a guest.qcow2 /usr/share
  row "virt-cat /big.bin" virt-cat -a guest.qcow2 /big.bin
  row "virt-inspector" virt-inspector -a guest.qcow2
else
  echo "(libguestfs-tools not installed: no virt-* side by side)"
fi
