#!/usr/bin/env bash
# NBD read throughput: `qemu-img convert -O raw` of one qcow2 image read
#   (a) directly from the file,
#   (b) through `diskit serve --ro` on a Unix socket,
#   (c) through `qemu-nbd -r` (the tool to beat) on a Unix socket,
# and `nbdcopy URI null:` through (b) and (c) (pure read speed, no output
# file). Runs are interleaved, RUNS times; prints medians and ratios.
#
# The image: SIZE (default 1 GiB) qcow2, 64 KiB clusters, half data (4 MiB
# runs at every 8 MiB, alternately random and patterned), a few zero
# clusters, the rest holes.
#
# Usage: bench/nbd.sh   Env: DISKIT (default build/diskit), BENCH_DIR
#        (default /tmp/diskit-bench-nbd), RUNS (default 3), SIZE_MB (1024).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
DISKIT=${DISKIT:-$here/build/diskit}
BENCH_DIR=${BENCH_DIR:-/tmp/diskit-bench-nbd}
RUNS=${RUNS:-3}
SIZE_MB=${SIZE_MB:-1024}
[ -x "$DISKIT" ] || { echo "nbd.sh: no diskit binary at $DISKIT (set DISKIT)" >&2; exit 1; }
for t in qemu-img qemu-io qemu-nbd; do
  command -v $t >/dev/null || { echo "nbd.sh: $t not found (qemu-utils)" >&2; exit 1; }
done
mkdir -p "$BENCH_DIR"
cd "$BENCH_DIR"

img=work-$SIZE_MB.qcow2
if [ ! -f "$img" ]; then
  qemu-img create -q -f qcow2 "$img.tmp" "${SIZE_MB}M"
  cmds=()
  for ((mb = 0; mb + 4 <= SIZE_MB; mb += 8)); do
    if (( mb / 8 % 2 )); then
      head -c 4M /dev/urandom >rnd.bin
      cmds+=(-c "write -s rnd.bin ${mb}M 4M")
    else
      cmds+=(-c "write -P $(( mb % 251 + 1 )) ${mb}M 4M")
    fi
    (( mb % 64 == 0 )) && cmds+=(-c "write -z $((mb + 5))M 256k")
    if (( ${#cmds[@]} > 16 )); then qemu-io -f qcow2 "${cmds[@]}" "$img.tmp" >/dev/null; cmds=(); fi
  done
  (( ${#cmds[@]} )) && qemu-io -f qcow2 "${cmds[@]}" "$img.tmp" >/dev/null
  rm -f rnd.bin
  mv "$img.tmp" "$img"
fi

dks=$BENCH_DIR/diskit.sock qns=$BENCH_DIR/qemu-nbd.sock
"$DISKIT" serve --ro --socket "$dks" --pid-file diskit.pid "$img" &
dpid=$!
qemu-nbd -r -t -f qcow2 -k "$qns" "$img" &
qpid=$!
trap 'kill $dpid $qpid 2>/dev/null; wait 2>/dev/null; rm -f out.raw' EXIT
for i in $(seq 100); do [ -s diskit.pid ] && [ -S "$qns" ] && break; sleep 0.1; done

now() { date +%s.%N; }
# timeit NAME CMD...: appends the wall time of CMD to NAME.times.
timeit() {
  local name=$1; shift
  rm -f out.raw; sync
  local t0; t0=$(now)
  "$@" >/dev/null
  echo "$(now) - $t0" | bc >>"$name.times"
}
rm -f ./*.times
have_nbdcopy=0; command -v nbdcopy >/dev/null && have_nbdcopy=1
for ((r = 0; r < RUNS; r++)); do
  timeit direct qemu-img convert -O raw "$img" out.raw
  timeit diskit qemu-img convert -O raw "nbd+unix:///?socket=$dks" out.raw
  timeit qemu-nbd qemu-img convert -O raw "nbd+unix:///?socket=$qns" out.raw
  if (( have_nbdcopy )); then
    timeit nbdcopy-diskit nbdcopy "nbd+unix:///?socket=$dks" null:
    timeit nbdcopy-qemu-nbd nbdcopy "nbd+unix:///?socket=$qns" null:
  fi
done
# Check once that the NBD copy is right.
qemu-img convert -O raw "nbd+unix:///?socket=$dks" out.raw
qemu-img compare -q -U -f raw -F qcow2 out.raw "$img" || { echo "nbd.sh: diskit serve read differs!" >&2; exit 1; }

median() { sort -n "$1.times" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
d=$(median direct) k=$(median diskit) q=$(median qemu-nbd)
echo "image: $img (${SIZE_MB} MiB virtual, $(du -m "$img" | cut -f1) MiB on disk), $RUNS runs, medians"
printf '%-44s %8.3f s\n' "qemu-img convert -O raw (file directly)" "$d"
printf '%-44s %8.3f s\n' "qemu-img convert -O raw via diskit serve" "$k"
printf '%-44s %8.3f s\n' "qemu-img convert -O raw via qemu-nbd" "$q"
printf 'ratio diskit-serve/direct: %.2f   diskit-serve/qemu-nbd: %.2f (< 1: diskit faster)\n' \
  "$(echo "$k / $d" | bc -l)" "$(echo "$k / $q" | bc -l)"
if (( have_nbdcopy )); then
  nk=$(median nbdcopy-diskit) nq=$(median nbdcopy-qemu-nbd)
  printf '%-44s %8.3f s\n' "nbdcopy to null: via diskit serve" "$nk"
  printf '%-44s %8.3f s\n' "nbdcopy to null: via qemu-nbd" "$nq"
  printf 'ratio nbdcopy diskit-serve/qemu-nbd: %.2f\n' "$(echo "$nk / $nq" | bc -l)"
fi
