#!/bin/bash
# Appliance launch time side by side, N rounds alternating on one scratch
# disk: libguestfs' `guestfish --ro -a disk run` (direct backend, TCG)
# against `diskit appliance launch-test` from the saved state (the normal
# case) and with DISKIT_APPLIANCE_SAVE=0 (a full boot, as on a first
# launch). Prints each round, the medians and the ratios diskit/guestfish.
# usage: bench/appliance.sh [build/diskit] [rounds]
set -euo pipefail
DISKIT=${1:-build/diskit}
N=${2:-3}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
truncate -s 64M "$T/disk.img"
mkfs.ext4 -q -F "$T/disk.img"
export LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg
"$DISKIT" appliance build
now() { date +%s.%N; }
ready() { sed -n 's/^launch-to-ready: \([0-9.]*\) s.*$/\1/p'; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
gs=() rs=() bs=()
for i in $(seq "$N"); do
  g=n/a
  if command -v guestfish >/dev/null; then
    t0=$(now)
    guestfish --ro -a "$T/disk.img" run
    g=$(echo "$(now) - $t0" | bc)
    gs+=("$g")
  fi
  r=$("$DISKIT" appliance launch-test --ro-add "$T/disk.img" | ready)
  b=$(DISKIT_APPLIANCE_SAVE=0 "$DISKIT" appliance launch-test --ro-add "$T/disk.img" | ready)
  rs+=("$r") bs+=("$b")
  echo "round $i: guestfish run $g s; diskit restored $r s, booted $b s"
done
rm=$(median "${rs[@]}") bm=$(median "${bs[@]}")
if [ ${#gs[@]} -gt 0 ]; then
  gm=$(median "${gs[@]}")
  echo "medians: guestfish $gm s; diskit restored $rm s (ratio $(echo "scale=3; $rm / $gm" | bc)), booted $bm s (ratio $(echo "scale=3; $bm / $gm" | bc))"
else
  echo "medians: diskit restored $rm s, booted $bm s (guestfish not installed)"
fi
