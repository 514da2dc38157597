# Sourced by tests/cli/crash/*_crash_test.sh. Kills an in-place command at
# chosen points of its host write sequence (the DK_TEST_* hook in
# formats/core/file.cc) and at random delays (a real kill -9 from outside),
# then shows after every kill that `diskit check -r all` repairs the image,
# `qemu-img check` finds it clean and the data committed before the command
# started is intact.
#
# A test defines, then calls `crash_scenario NAME POINTS DELAYS -- CMD...`:
#   crash_setup     builds the images (and reference copies) in the current
#                   directory; run once, each kill starts from a fresh copy
#   crash_verify    run in a subshell after the repair; exits non-zero (with
#                   `fail MESSAGE`) when committed data is lost; cmd.rc holds
#                   the command's exit status (137: killed, 0: completed)
#   CRASH_IMAGES    the images to repair after each kill ("top.qcow2 base.qcow2")
# and ends with `crash_finish COMMAND`, which prints the summary line
#   crash: COMMAND: K kills (D by delayed kill -9), R repaired (F needed fixes), L losses
# and fails if any kill left an image unrepaired or lost data.
#
# DK_CRASH_SEED replays a run's random choices; DK_CRASH_SCALE (percent,
# default 100) scales the number of kill points.
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu

CRASH_SEED=${DK_CRASH_SEED:-$(( $(date +%s) % 100000 ))}
RANDOM=$CRASH_SEED
echo "crash seed $CRASH_SEED (DK_CRASH_SEED=$CRASH_SEED replays it)"
CRASH_KILLS=0 CRASH_DELAY_KILLS=0 CRASH_REPAIRS=0 CRASH_FIXED=0 CRASH_LOSSES=0
CRASH_FAILS=()
CRASH_IMAGES=""

# has_command NAME: diskit has the subcommand NAME.
has_command() { "$DISKIT" --help | grep "^  $1 " >/dev/null; }  # not -q: no SIGPIPE

# The repair is diskit's own; qemu-img check only judges the result.
has_command check || fail "diskit has no check command"
CRASH_REPAIR=("$DISKIT" check -r all)

# crash_points TOTAL MAX: every point 1..TOTAL when TOTAL <= MAX, else the
# first, the last, the few around the end and a random sample of the rest.
crash_points() {
  python3 - "$1" "$2" "$RANDOM" <<'PY'
import random, sys
total, limit, seed = map(int, sys.argv[1:])
if total <= limit:
    pts = set(range(1, total + 1))
else:
    pts = {1, 2, total} | set(range(max(1, total - 3), total + 1))
    rest = [p for p in range(1, total + 1) if p not in pts]
    pts |= set(random.Random(seed).sample(rest, max(0, limit - len(pts))))
print(*sorted(pts))
PY
}

# crash_fresh: an empty run/ directory holding a copy of the set-up images.
crash_fresh() {
  cd "$T"
  rm -rf run
  cp -a --sparse=always tpl run
  cd run
}

# crash_note_failure WHAT: records a failed kill (the test fails at the end).
crash_note_failure() {
  CRASH_FAILS+=("$1")
  echo "FAIL: $1" >&2
}

# crash_check_after LABEL RC: after CMD ended with status RC (137 = killed),
# repairs every image, checks it is clean and runs crash_verify.
crash_check_after() {
  local label=$1 rc=$2 img out ok=1
  echo "$rc" >cmd.rc  # crash_verify may ask whether the command completed
  if [ "$rc" = 137 ]; then
    CRASH_KILLS=$((CRASH_KILLS + 1))
  elif [ "$rc" != 0 ]; then
    crash_note_failure "$label: the command exited $rc (not killed): $(head -c 300 cmd.err)"
    ok=0
  fi
  for img in $CRASH_IMAGES; do
    set +e; out=$("${CRASH_REPAIR[@]}" "$img" 2>&1); local crc=$?; set -e
    if [ "$crc" != 0 ]; then
      crash_note_failure "$label: check -r all $img exited $crc: $(echo "$out" | head -5 | tr '\n' '|')"
      ok=0
      continue
    fi
    grep -q 'were found and repaired' <<<"$out" && CRASH_FIXED=$((CRASH_FIXED + 1))
    set +e; out=$(qemu-img check "$img" 2>&1); crc=$?; set -e
    if [ "$crc" != 0 ]; then
      crash_note_failure "$label: qemu-img check $img after the repair exited $crc: $(echo "$out" | head -5 | tr '\n' '|')"
      ok=0
    fi
  done
  set +e; out=$( (set -e; crash_verify) 2>&1); local vrc=$?; set -e
  if [ "$vrc" != 0 ]; then
    CRASH_LOSSES=$((CRASH_LOSSES + 1))
    crash_note_failure "$label: committed data lost: $(echo "$out" | head -5 | tr '\n' '|')"
    ok=0
  fi
  [ "$ok" = 1 ] && [ "$rc" = 137 ] && CRASH_REPAIRS=$((CRASH_REPAIRS + 1))
  return 0
}

# crash_scenario NAME POINTS DELAYS -- CMD...: (CMD may start with dk) counts CMD's host writes on
# a fresh copy (and checks it leaves no file unflushed when it succeeds),
# kills it before up to POINTS of them, then DELAYS times after a random
# delay, checking the images after each.
crash_scenario() {
  local name=$1 points=$2 delays=$3
  shift 4
  # A real executable, so that kill -9 $! reaches diskit itself.
  [ "$1" != dk ] || set -- "$DISKIT" "${@:2}"
  points=$(( (points * ${DK_CRASH_SCALE:-100} + 99) / 100 ))
  rm -rf "$T/tpl"; mkdir "$T/tpl"; cd "$T/tpl"
  crash_setup
  crash_fresh
  local t0 t1 rc total unflushed
  t0=$(date +%s%N)
  set +e; DK_TEST_COUNT_WRITES=1 "$@" >cmd.out 2>cmd.err; rc=$?; set -e
  t1=$(date +%s%N)
  [ "$rc" = 0 ] || fail "$name: '$*' failed: $(cat cmd.err)"
  read -r total unflushed < <(sed -n 's/^dk-test-writes: \([0-9]*\) ops, \([0-9]*\) files unflushed$/\1 \2/p' cmd.err)
  [ -n "$total" ] || fail "$name: no write count from '$*': $(cat cmd.err)"
  [ "$unflushed" = 0 ] ||
    crash_note_failure "$name: '$*' reported success with $unflushed file(s) written after their last flush"
  crash_check_after "$name (no kill)" 0
  local kills0=$CRASH_KILLS n
  for n in $(crash_points "$total" "$points"); do
    crash_fresh
    { set +e; DK_TEST_KILL_AFTER_WRITES=$n "$@" >cmd.out 2>cmd.err; rc=$?; set -e; } 2>/dev/null
    crash_check_after "$name, killed before write $n/$total" "$rc"
  done
  # Real kills from outside, at random times within the command's run time.
  local span_us=$(( (t1 - t0) / 1000 + 1000 )) i delay pid
  for ((i = 0; i < delays; i++)); do
    crash_fresh
    delay=$(( (RANDOM * 32768 + RANDOM) % span_us ))
    "$@" >cmd.out 2>cmd.err &
    pid=$!
    sleep "$(printf '%d.%06d' $((delay / 1000000)) $((delay % 1000000)))"
    kill -9 "$pid" 2>/dev/null || true
    # wait returns once diskit has exited and so released its image locks.
    { set +e; wait "$pid"; rc=$?; set -e; } 2>/dev/null
    [ "$rc" = 137 ] && CRASH_DELAY_KILLS=$((CRASH_DELAY_KILLS + 1))
    crash_check_after "$name, kill -9 after ${delay}us" "$rc"
  done
  echo "$name: $total writes, $((CRASH_KILLS - kills0)) kills"
  cd "$T"
}

# crash_finish COMMAND: prints the summary line; fails on any failed kill.
crash_finish() {
  echo "crash: $1: $CRASH_KILLS kills ($CRASH_DELAY_KILLS by delayed kill -9)," \
    "$CRASH_REPAIRS repaired ($CRASH_FIXED needed fixes), $CRASH_LOSSES losses"
  if [ ${#CRASH_FAILS[@]} != 0 ]; then
    printf '  %s\n' "${CRASH_FAILS[@]}" >&2
    fail "$1: ${#CRASH_FAILS[@]} failed kill(s) (seed $CRASH_SEED)"
  fi
}

# ---- Helpers for crash_verify ----

# vsize IMG: the virtual size in bytes.
vsize() { qemu-img info -U "$1" | sed -n 's/^virtual size: .*(\([0-9]*\) bytes)$/\1/p'; }

# same_guest REF.raw IMG: the guest content of IMG (through its backing
# chain) equals the raw reference.
same_guest() {
  qemu-img compare -q -f raw -F qcow2 "$1" "$2" || fail "guest content of $2 differs from $1"
}

# as_raw IMG OUT [-l SNAPSHOT]: the guest content of IMG written to OUT.
as_raw() {
  local img=$1 out=$2; shift 2
  qemu-img convert -U -f qcow2 "$@" -O raw "$img" "$out"
}

# same_prefix A B LEN: the first LEN bytes of the two raw files are equal.
same_prefix() { cmp -s -n "$3" "$1" "$2" || fail "the first $3 bytes of $1 and $2 differ"; }

# backing_of IMG: the backing file name in IMG's header (empty if none).
backing_of() { qemu-img info -U "$1" | sed -n 's/^backing file: \(.*\)$/\1/p' | sed 's/ (actual path: .*)$//'; }
