# commit refuses images another process holds: the overlay held by qemu-io,
# the backing file held read-only by qemu-io (commit must write it) and a
# backing file the user cannot write. Nothing is changed.
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu
require mkfifo

qemu-img create -q -f qcow2 a.qcow2 4M
qemu-img create -q -f qcow2 -b a.qcow2 -F qcow2 b.qcow2
qemu-io -c 'write -P 5 0 64k' b.qcow2 >/dev/null
sums() { md5sum a.qcow2 b.qcow2; }
sums >before

HOLDER=
hold() {  # hold [-r] IMG: qemu-io keeps IMG open until release
  rm -f hold.fifo; mkfifo hold.fifo
  qemu-io -f qcow2 "$@" <hold.fifo >/dev/null 2>&1 &
  HOLDER=$!
  exec 9>hold.fifo
  # Wait until qemu-io's lock on the image shows in /proc/locks (a fixed
  # sleep lost the race on a loaded machine).
  local ino; ino=$(stat -c %i "${@: -1}")
  for _ in $(seq 100); do
    grep -q ":$ino " /proc/locks && return 0
    sleep 0.1
  done
  fail "qemu-io did not lock ${*: -1} within 10 s"
}
release() { echo quit >&9; exec 9>&-; wait "$HOLDER" || true; HOLDER=; }
trap 'exec 9>&- 2>/dev/null; [ -z "$HOLDER" ] || kill $HOLDER 2>/dev/null || true; rm -rf "$T"' EXIT

in_use() {
  capture got dk commit "$@"
  [ "$(cat got.rc)" = 1 ] || fail "'commit $*' exited $(cat got.rc) while an image is held"
  grep -qiE 'in use|lock' got.err || fail "'commit $*': message does not say in use: $(cat got.err)"
  [ "$(wc -l <got.err)" = 1 ] || fail "'commit $*': expected one stderr line: $(cat got.err)"
}
hold b.qcow2
in_use b.qcow2
release
hold -r a.qcow2
in_use b.qcow2
in_use -d b.qcow2
release
sums >after
same_file before after "images after refused commits"

# A backing file the user may not write: qemu-img's message and status.
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
  chmod 755 "$T"
  mkdir ro; chmod 777 ro
  cp a.qcow2 b.qcow2 ro/
  chown nobody ro/b.qcow2; chmod 444 ro/a.qcow2
  as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
  cp -r ro ro2
  chown nobody ro2/b.qcow2
  capture want as_nobody qemu-img commit ro2/b.qcow2
  capture got as_nobody "$DISKIT" commit ro/b.qcow2
  same_file want.rc got.rc "exit status with a read-only backing file"
  sed 's/^qemu-img: /diskit: commit: /; s/ro2/ro/g' want.err >want.err1
  same_file want.err1 got.err "message with a read-only backing file"
fi
echo ok
