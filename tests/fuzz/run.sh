#!/usr/bin/env bash
# Builds the libFuzzer targets in a separate clang build dir (build-fuzz),
# makes seed corpora with qemu-img (seeds.sh) and runs each target for a
# bounded time. Fails (exit 1) on any crash, leak, timeout or sanitizer
# report; the reproducer is left in build-fuzz/fuzz-out/<target>/.
#
# Environment: DK_FUZZ_SECONDS (per target, default 60), DK_FUZZ_JOBS
# (parallel fuzzing processes per target, default 1), CC/CXX (default
# clang-14/clang++-14), DK_FUZZ_BUILD (build dir, default build-fuzz).
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${DK_FUZZ_SECONDS:-60}
bdir=${DK_FUZZ_BUILD:-build-fuzz}
cc=${CC:-clang-14} cxx=${CXX:-clang++-14}
command -v "$cxx" >/dev/null || { echo "fuzz/run.sh: $cxx not installed" >&2; exit 1; }

CC=$cc CXX=$cxx cmake -S . -B "$bdir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DDK_FUZZ=ON -DDK_BUILD_BENCH=OFF -DDK_BUILD_TESTS=ON >/dev/null
cmake --build "$bdir" -j"${DK_FUZZ_BUILD_JOBS:-2}" --target fuzz_targets

out=$bdir/fuzz-out
rm -rf "$out"; mkdir -p "$out/seeds"
bash tests/fuzz/seeds.sh "$out/seeds"

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
status=0
for t in fuzz_probe fuzz_qcow2_open fuzz_chain; do
  mkdir -p "$out/$t/corpus"
  echo "== $t: ${secs}s"
  # -max_len: the seeds (small-cluster images) fit in 128 KiB.
  if ! (cd "$out/$t" && "../../$t" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=20 \
        -max_len=131072 -print_final_stats=1 -artifact_prefix=./ corpus ../seeds \
        </dev/null >log.txt 2>&1); then
    echo "FAIL: $t found a problem; see $out/$t/log.txt and $out/$t/crash-*/leak-*/timeout-*" >&2
    grep -E 'ERROR|SUMMARY|runtime error' "$out/$t/log.txt" | head -5 >&2 || true
    status=1
  else
    grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' "$out/$t/log.txt" | tail -2 || true
  fi
done
exit $status
