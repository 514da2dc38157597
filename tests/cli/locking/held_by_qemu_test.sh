# While qemu-io holds an image open for writing, diskit commands that open
# it without -U fail (exit 1, compare 2) saying it is in use; with -U (or
# a read-only holder) they work and print what qemu-img prints.
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu
require mkfifo
qemu-img create -q -f qcow2 a.qcow2 4M
qemu-io -f qcow2 -c 'write -P 0x5a 1234 5000' a.qcow2 >/dev/null
cp a.qcow2 b.qcow2

# hold [-r] IMG: qemu-io keeps IMG open (reading commands from a FIFO).
hold() {
  rm -f hold.fifo; mkfifo hold.fifo
  qemu-io -f qcow2 "$@" <hold.fifo >/dev/null 2>&1 &
  HOLDER=$!
  exec 9>hold.fifo
  # Wait until qemu-io has the image open (its lock is visible to qemu-img).
  for _ in $(seq 50); do
    if [ "$1" = -r ] || ! qemu-img info "${@: -1}" >/dev/null 2>&1; then break; fi
    sleep 0.1
  done
  sleep 0.2
}
release() { echo quit >&9; exec 9>&-; wait "$HOLDER" || true; }
trap 'exec 9>&- 2>/dev/null; kill $HOLDER 2>/dev/null || true; rm -rf "$T"' EXIT

hold a.qcow2
expect_status 1 qemu-img info a.qcow2 2>/dev/null  # the oracle sees the lock
in_use() {  # in_use STATUS CMD...: fails with STATUS and an "in use" message
  local want=$1; shift
  capture got "$@"
  [ "$(cat got.rc)" = "$want" ] || fail "'$*' exited $(cat got.rc) while the image is in use (expected $want)"
  grep -qiE 'in use|using the image' got.err || fail "'$*': message does not say in use: $(cat got.err)"
  grep -q '^diskit: ' got.err || fail "'$*': message does not start with 'diskit: '"
}
in_use 1 dk info a.qcow2
in_use 1 dk info --output=json a.qcow2
in_use 1 dk map a.qcow2
in_use 1 dk convert -O raw a.qcow2 out.raw
in_use 2 dk compare a.qcow2 b.qcow2
in_use 1 dk convert -n -O qcow2 b.qcow2 a.qcow2
sum=$(md5sum <a.qcow2)
in_use 1 dk create -f qcow2 a.qcow2 4M
[ "$(md5sum <a.qcow2)" = "$sum" ] || fail "diskit create changed an image another process holds"
# -U shares the image: same output as qemu-img's -U.
qemu-img info -U --output=json a.qcow2 >want.json
dk info -U --output=json a.qcow2 >got.json || fail "diskit info -U failed while the image is held"
same_json want.json got.json
dk map -U --output=json a.qcow2 >/dev/null || fail "diskit map -U failed"
dk convert -U -O raw a.qcow2 out.raw || fail "diskit convert -U failed"
qemu-img convert -U -O raw a.qcow2 want.raw
cmp want.raw out.raw || fail "convert -U read different data"
capture got dk compare -U a.qcow2 b.qcow2
[ "$(cat got.rc)" = 0 ] || fail "compare -U exited $(cat got.rc)"
release

# A read-only holder does not keep diskit from reading.
hold -r a.qcow2
dk info a.qcow2 >/dev/null || fail "diskit info failed while qemu-io -r holds the image"
dk convert -O raw a.qcow2 out2.raw || fail "diskit convert failed while qemu-io -r holds the image"
# ... but writing into it is refused.
capture got dk convert -n -O qcow2 b.qcow2 a.qcow2
[ "$(cat got.rc)" = 1 ] || fail "convert -n into an image held read-only exited $(cat got.rc)"
release
# Once released, everything works without -U.
dk info a.qcow2 >/dev/null || fail "diskit info failed after the holder exited"
echo ok
