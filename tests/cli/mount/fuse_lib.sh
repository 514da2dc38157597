# Sourced by tests/cli/mount/*_test.sh after lib.sh: skips without FUSE and
# unmounts whatever the test mounted before the scratch dir goes.
[ -e /dev/fuse ] || skip "/dev/fuse is missing (no FUSE in this environment)"
require fusermount3
MOUNTS=()
cleanup_mounts() {
  local m
  for m in "${MOUNTS[@]}"; do
    mountpoint -q "$m" 2>/dev/null && { "$DISKIT" umount "$m" >/dev/null 2>&1 || fusermount3 -u -z "$m" 2>/dev/null || true; }
  done
  rm -rf "$T"
}
trap cleanup_mounts EXIT

# dk_mount MOUNTPOINT ARGS...: diskit mount ARGS MOUNTPOINT; skips when the
# environment refuses FUSE mounts, fails on any other error.
dk_mount() {
  local mp=$1; shift
  mkdir -p "$mp"
  MOUNTS+=("$T/$mp")
  if ! "$DISKIT" mount "$@" "$mp" 2>"$T/mount.err"; then
    grep -q 'could not mount' "$T/mount.err" && skip "FUSE mounts are refused here: $(cat "$T/mount.err")"
    cat "$T/mount.err" >&2; fail "diskit mount $* $mp failed"
  fi
}

# wait_locked IMG: waits (up to 10 s) until another process holds IMG's write lock.
wait_locked() {
  local i
  for i in $(seq 100); do
    qemu-io -c 'read 0 1' "$1" >/dev/null 2>&1 || return 0
    sleep 0.1
  done
  fail "nobody took the lock on $1"
}
