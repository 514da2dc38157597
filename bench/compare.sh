#!/usr/bin/env bash
# Side-by-side timing of diskit and qemu-img on the same images.
#
# Builds a work image once (4 GiB raw holding 1 GiB of data: 1 MiB chunks at
# every 4th MiB, alternately random bytes and compressible text), its qcow2
# conversion, a 4 KiB-cluster qcow2 copy and a 1 GiB cut (256 MiB of data)
# for the zlib compression case (zstd compresses the whole work image). Then runs each case interleaved (qemu-img,
# diskit, qemu-img, diskit, ...), RUNS times, and prints the medians, the
# ratio qemu-img/diskit (> 1: diskit is faster), diskit's peak RSS, and
# whether diskit's output matches (qemu-img compare) and checks clean.
# qemu-img gets the faster of its defaults and `-m 16 -W`.
#
# The floor-* rows time bench/floor/write_floor (the fastest way this
# machine puts the same 1 GiB of data into a new file, by any tool) in the
# diskit column: their ratio is the highest any tool can reach against
# qemu-img's raw -> qcow2 here.
#
# Usage: bench/compare.sh            (DISKIT=path, default build/diskit)
# Env:   BENCH_DIR (default /tmp/diskit-bench), RUNS (default 3),
#        CASES (space separated subset of the case names below)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
DISKIT=${DISKIT:-$here/build/diskit}
BENCH_DIR=${BENCH_DIR:-/tmp/diskit-bench}
RUNS=${RUNS:-3}
CASES=${CASES:-"raw-qcow2 qcow2-raw raw-vmdk compress-zstd compress-zlib check-4k map-4k raw-raw floor"}
QEMU_IMG=${QEMU_IMG:-qemu-img}
FLOOR=${FLOOR:-$(dirname "$DISKIT")/bench/dk_write_floor}

[ -x "$DISKIT" ] || { echo "compare.sh: no diskit binary at $DISKIT (set DISKIT)" >&2; exit 1; }
command -v "$QEMU_IMG" >/dev/null || { echo "compare.sh: qemu-img not found" >&2; exit 1; }
mkdir -p "$BENCH_DIR"
cd "$BENCH_DIR"

# ---- work images (built once, reused) ----
if [ ! -f work.raw ]; then
  echo "building work images in $BENCH_DIR ..." >&2
  python3 - <<'EOF'
import os, random
MiB = 1 << 20
rng = random.Random(1234)
words = [w.encode() for w in ("disk image cluster qcow2 backing refcount table offset sector "
         "the of and zero data header snapshot bitmap extent grain vmdk convert").split()]
def text_block(seed):
    r = random.Random(seed)
    parts, n = [], 0
    while n < MiB:
        line = b" ".join(r.choice(words) for _ in range(r.randint(4, 14))) + b"\n"
        parts.append(line)
        n += len(line)
    return b"".join(parts)[:MiB]
texts = [text_block(s) for s in range(16)]
with open("work.raw.tmp", "wb") as f:
    f.truncate(4 << 30)
    for i in range(1024):
        f.seek(i * 4 * MiB)
        f.write(os.urandom(MiB) if i % 2 else texts[i % 16][i:] + texts[i % 16][:i])
os.rename("work.raw.tmp", "work.raw")
EOF
fi
[ -f work.qcow2 ] || "$QEMU_IMG" convert -O qcow2 work.raw work.qcow2
[ -f work4k.qcow2 ] || "$QEMU_IMG" convert -O qcow2 -o cluster_size=4k work.raw work4k.qcow2
if [ ! -f cut.raw ]; then
  cp --sparse=always work.raw cut.raw.tmp && truncate -s 1G cut.raw.tmp && mv cut.raw.tmp cut.raw
fi

# ---- helpers ----
# run_timed OUT_VAR CMD...: elapsed seconds and peak RSS (KiB) of CMD.
run_timed() {
  local -n _res=$1
  shift
  local out
  out=$(/usr/bin/time -f '%e %M' "$@" 2>&1 >/dev/null | tail -1) || { echo "FAILED: $*" >&2; _res="nan 0"; return 1; }
  _res=$out
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
has_cmd() { "$DISKIT" --help 2>/dev/null | grep -qE "^  $1 "; }
has_format() { "$DISKIT" convert -O "$1" -o help >/dev/null 2>&1; }

printf '%-16s %12s %12s %8s %12s  %s\n' case "qemu-img s" "diskit s" ratio "diskit RSS" verified
row() { printf '%-16s %12s %12s %8s %12s  %s\n' "$@"; }

# bench NAME VERIFY QEMU_CMD -- DISKIT_CMD  (commands use @OUT@ for the output)
# VERIFY: "SRC_FMT:SRC:OUT_FMT" to compare diskit's output with the source, or "-".
bench() {
  local name=$1 verify=$2
  shift 2
  local qcmd=() dcmd=() side=q
  for a in "$@"; do
    if [ "$a" = -- ]; then side=d; continue; fi
    if [ $side = q ]; then qcmd+=("$a"); else dcmd+=("$a"); fi
  done
  local qt=() qw=() dt=() rss=() r
  local qfast=()
  # qemu-img's tuned variant: same command plus -m 16 -W (convert only).
  if [ "${qcmd[1]}" = convert ]; then qfast=("${qcmd[0]}" convert -m 16 -W "${qcmd[@]:2}"); fi
  for ((i = 0; i < RUNS; i++)); do
    rm -f out.q out.d
    run_timed r "${qcmd[@]//@OUT@/out.q}" && qt+=("${r% *}")
    rm -f out.q
    if [ ${#qfast[@]} -gt 0 ]; then
      run_timed r "${qfast[@]//@OUT@/out.q}" && qw+=("${r% *}")
      rm -f out.q
    fi
    run_timed r "${dcmd[@]//@OUT@/out.d}" && { dt+=("${r% *}"); rss+=("${r#* }"); }
  done
  local qm dm ratio verified=-
  qm=$( [ ${#qt[@]} -gt 0 ] && median "${qt[@]}" || echo nan)
  if [ ${#qw[@]} -gt 0 ]; then
    local qwm
    qwm=$(median "${qw[@]}")
    qm=$(awk -v a="$qm" -v b="$qwm" 'BEGIN {print (b < a) ? b : a}')
  fi
  if [ ${#dt[@]} = 0 ]; then
    row "$name" "$qm" - - - "diskit FAILED"
    rm -f out.q out.d
    return
  fi
  dm=$(median "${dt[@]}")
  ratio=$(awk -v a="$qm" -v b="$dm" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "-"}')
  if [ "$verify" != - ] && [ -e out.d ]; then
    IFS=: read -r sf src of <<<"$verify"
    if "$QEMU_IMG" compare -q -f "$sf" -F "$of" "$src" out.d; then verified=identical; else verified=DIFFERENT; fi
    if [ "$of" != raw ]; then
      if "$QEMU_IMG" check -q -f "$of" out.d >/dev/null 2>&1; then verified+=",check-ok"; else verified+=",CHECK-FAILED"; fi
    fi
  fi
  row "$name" "$qm" "$dm" "$ratio" "$(( $(median "${rss[@]}") / 1024 )) MiB" "$verified"
  rm -f out.q out.d
}

Q=$QEMU_IMG
D=$DISKIT
for c in $CASES; do
  case $c in
    raw-qcow2) bench "$c" raw:work.raw:qcow2 $Q convert -O qcow2 work.raw @OUT@ -- $D convert -O qcow2 work.raw @OUT@ ;;
    qcow2-raw) bench "$c" qcow2:work.qcow2:raw $Q convert -O raw work.qcow2 @OUT@ -- $D convert -O raw work.qcow2 @OUT@ ;;
    raw-vmdk)
      if has_format vmdk; then
        bench "$c" raw:work.raw:vmdk $Q convert -O vmdk work.raw @OUT@ -- $D convert -O vmdk work.raw @OUT@
      else row "$c" - - - - "skipped: diskit has no vmdk driver"; fi ;;
    compress-zstd)
      bench "$c" raw:work.raw:qcow2 $Q convert -c -O qcow2 -o compression_type=zstd work.raw @OUT@ -- \
        $D convert -c -O qcow2 -o compression_type=zstd work.raw @OUT@ ;;
    compress-zlib)
      bench "$c" raw:cut.raw:qcow2 $Q convert -c -O qcow2 cut.raw @OUT@ -- $D convert -c -O qcow2 cut.raw @OUT@ ;;
    check-4k)
      if has_cmd check; then bench "$c" - $Q check work4k.qcow2 -- $D check work4k.qcow2
      else row "$c" - - - - "skipped: diskit has no check"; fi ;;
    map-4k)
      if has_cmd map; then bench "$c" - $Q map --output=json work4k.qcow2 -- $D map --output=json work4k.qcow2
      else row "$c" - - - - "skipped: diskit has no map"; fi ;;
    raw-raw)
      bench "$c" raw:work.raw:raw $Q convert -O raw work.raw @OUT@ -- $D convert -O raw work.raw @OUT@
      bench "raw-raw vs cp" raw:work.raw:raw cp --sparse=always work.raw @OUT@ -- $D convert -O raw work.raw @OUT@ ;;
    floor)
      if [ -x "$FLOOR" ]; then
        for m in pwrite mmapN; do
          bench "floor-$m" - $Q convert -O qcow2 work.raw @OUT@ -- "$FLOOR" work.raw @OUT@ $m
        done
      else row "$c" - - - - "skipped: no $FLOOR"; fi ;;
    *) echo "compare.sh: unknown case $c" >&2 ;;
  esac
done
