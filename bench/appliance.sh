#!/bin/bash
# Appliance launch time side by side: libguestfs' `guestfish -a disk run`
# (direct backend, TCG) against `diskit appliance launch-test` (command to
# agent ready), N rounds alternating, on one scratch disk.
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
for i in $(seq "$N"); do
  if command -v guestfish >/dev/null; then
    t0=$(now)
    guestfish --ro -a "$T/disk.img" run
    g=$(echo "$(now) - $t0" | bc)
  else
    g=n/a
  fi
  t0=$(now)
  ready=$("$DISKIT" appliance launch-test --ro-add "$T/disk.img" | sed -n 's/^launch-to-ready: \(.*\) s$/\1/p')
  d=$(echo "$(now) - $t0" | bc)
  echo "round $i: guestfish run ${g} s; diskit launch-to-ready ${ready} s (with shutdown ${d} s)"
done
