# commit fails like qemu-img: same exit status and first stderr line (the
# program name aside), and leaves the images untouched.
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu

qemu-img create -q -f qcow2 a.qcow2 4M
qemu-img create -q -f qcow2 -b a.qcow2 -F qcow2 b.qcow2
qemu-io -c 'write -P 5 0 64k' b.qcow2 >/dev/null
qemu-img create -q -f raw r.raw 1M
sums() { md5sum a.qcow2 b.qcow2; }
sums >before

# qemu-img may warn first (a probed raw image); its error is the last line.
same_error() {
  capture want qemu-img commit "$@"
  capture got dk commit "$@"
  same_file want.rc got.rc "exit status of commit $*"
  tail -1 want.err | sed 's/^qemu-img: /diskit: commit: /' >want.err1
  tail -1 got.err >got.err1
  same_file want.err1 got.err1 "last stderr line of commit $*"
}
same_error a.qcow2
same_error r.raw
same_error -b x.qcow2 b.qcow2
same_error -b b.qcow2 b.qcow2
same_error -b r.raw b.qcow2
same_error -r 1x b.qcow2
same_error -t bogus b.qcow2
same_error -f raw b.qcow2
same_error nonexist.qcow2
sums >after
same_file before after "images after failed commits"
# -r with a valid rate is accepted.
cp a.qcow2 a2.qcow2
qemu-img create -q -f qcow2 -b a2.qcow2 -F qcow2 b2.qcow2
dk commit -q -r 10M b2.qcow2 || fail "commit -r 10M failed"
expect_status 1 dk commit 2>/dev/null
echo ok
