# Sourced by tests/cli/serve/*_test.sh after lib.sh: start and stop
# `diskit serve` in the background.

# serve_start NAME ARGS...: runs `diskit serve --pid-file NAME.pid ARGS...`
# in the background and waits (10 s at most) until it listens; the pid is in
# $SERVE_PID_<NAME>. The server is stopped when the test exits.
SERVE_PIDS=()
serve_start() {
  local name=$1; shift
  "$DISKIT" serve --pid-file "$T/$name.pid" "$@" 2>"$T/$name.err" &
  local pid=$!
  SERVE_PIDS+=("$pid")
  eval "SERVE_PID_$name=$pid"
  local i
  for i in $(seq 100); do
    [ -s "$T/$name.pid" ] && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$T/$name.err" >&2; fail "diskit serve $* exited early"; }
    sleep 0.1
  done
  fail "diskit serve $* did not start listening within 10 s"
}

# serve_stop NAME: SIGTERM, then the server must exit 0 within 10 s.
serve_stop() {
  local pid rc=0
  eval "pid=\$SERVE_PID_$1"
  kill -TERM "$pid"
  local i
  for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && { kill -9 "$pid"; fail "diskit serve did not stop on SIGTERM"; }
  wait "$pid" || rc=$?
  [ "$rc" = 0 ] || { cat "$T/$1.err" >&2; fail "diskit serve exited $rc after SIGTERM"; }
  [ ! -e "$T/$1.pid" ] || fail "diskit serve left its pid file behind"
  [ ! -s "$T/$1.err" ] || { cat "$T/$1.err" >&2; fail "diskit serve printed on stderr"; }
}

serve_cleanup() {
  local p
  for p in "${SERVE_PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$T"
}
trap serve_cleanup EXIT

# nbd_uri SOCKET [EXPORT]: the NBD URI of a Unix socket export.
nbd_uri() { echo "nbd+unix:///${2:-}?socket=$1"; }
