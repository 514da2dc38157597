# commit of 2- and 3-layer qcow2 chains, with and without -d and -b, against
# qemu-img commit on identical copies: BASE holds the same content, the
# overlay is emptied (or kept) the same way, stdout and exit status match,
# every image checks clean and the top of the chain still reads the same.
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu

source "$(dirname "${BASH_SOURCE[0]}")/commit_lib.sh" || exit 1

# build DIR: a.qcow2 (4M) <- b.qcow2 (4M) <- c.qcow2 (6M), written with
# data, zero writes and discards on every layer.
build() {
  mkdir -p "$1"
  qemu-img create -q -f qcow2 "$1/a.qcow2" 4M
  qemu-io -c 'write -P 0xa1 0 1M' -c 'write -P 0xa2 2M 512k' -c 'write -P 0xa3 3M 1M' "$1/a.qcow2" >/dev/null
  qemu-img create -q -f qcow2 -b a.qcow2 -F qcow2 "$1/b.qcow2" 4M
  qemu-io -c 'write -P 0xb1 256k 64k' -c 'write -z 2M 128k' -c 'discard 3M 64k' \
    -c 'write -P 0xb2 1000k 4k' "$1/b.qcow2" >/dev/null
  qemu-img create -q -f qcow2 -b b.qcow2 -F qcow2 "$1/c.qcow2" 6M
  qemu-io -c 'write -P 0xc1 0 64k' -c 'write -z 512k 256k' -c 'write -P 0xc2 2100k 3k' \
    -c 'discard 3M 128k' -c 'write -P 0xc3 4M 1M' -c 'write -z 3500k 64k' "$1/c.qcow2" >/dev/null
}

# run_case NAME TOP BASE ARGS...: commit TOP with ARGS in copies
# want/ (qemu-img) and got/ (diskit); compare the results.
run_case() {
  local name=$1 top=$2 base=$3; shift 3
  rm -rf want got; cp -r orig want; cp -r orig got
  # @DIR@ in ARGS stands for the absolute path of the copy.
  capture want qemu-img commit "${@//@DIR@/$T/want}" want/$top
  capture got dk commit "${@//@DIR@/$T/got}" got/$top
  same_file want.rc got.rc "exit status ($name)"
  # Progress lines depend on when qemu-img polls its job: compare the
  # first and last ones and the final message.
  if [[ " $* " == *" -p "* && " $* " != *" -q "* ]]; then
    for f in want got; do
      tr '\r' '\n' <$f.out | grep '^ *(' | sed -n '1p;$p' >$f.out1
      tr '\r' '\n' <$f.out | grep -v '^ *(' | sed '/^$/d' >>$f.out1
    done
    same_file want.out1 got.out1 "stdout ($name)"
  else
    same_file want.out got.out "stdout ($name)"
  fi
  [ "$(cat got.rc)" = 0 ] || { cat got.err >&2; fail "commit failed ($name)"; }
  same_content want/$base got/$base
  [ "$(qemu-img info want/$base | grep 'virtual size')" = "$(qemu-img info got/$base | grep 'virtual size')" ] ||
    fail "BASE size differs ($name)"
  map_shape want/$top >m.want; map_shape got/$top >m.got
  same_file m.want m.got "overlay map ($name)"
  for f in a b c; do
    [ -e got/$f.qcow2 ] && check_clean got/$f.qcow2 qcow2
  done
  # Nothing the overlay showed is lost.
  same_content orig/$top got/$top
}

build orig
run_case "c into b" c.qcow2 b.qcow2
run_case "c into b, -d" c.qcow2 b.qcow2 -d
run_case "c into a, -b" c.qcow2 a.qcow2 -b a.qcow2
run_case "c into b, -b" c.qcow2 b.qcow2 -b b.qcow2
run_case "b into a" b.qcow2 a.qcow2
run_case "quiet with progress" c.qcow2 b.qcow2 -q -p
run_case "progress" c.qcow2 b.qcow2 -p
run_case "cache none" c.qcow2 b.qcow2 -t none
run_case "absolute -b" c.qcow2 a.qcow2 -b @DIR@/a.qcow2

# After emptying, the overlay holds no clusters of its own.
rm -rf got; cp -r orig got
dk commit -q got/c.qcow2
[ -z "$(qemu-img map --output=json got/c.qcow2 | grep '"depth": 0')" ] || fail "overlay not empty after commit"

# A 2-layer chain where the overlay is compressed and lives in another directory.
rm -rf two; mkdir -p two/sub
qemu-img create -q -f qcow2 two/base.qcow2 2M
qemu-io -c 'write -P 7 0 2M' two/base.qcow2 >/dev/null
qemu-img create -q -f qcow2 -b ../base.qcow2 -F qcow2 two/sub/top.qcow2
qemu-io -c 'write -P 8 64k 64k' two/sub/top.qcow2 >/dev/null
qemu-img convert -c -O qcow2 -B ../base.qcow2 -F qcow2 two/sub/top.qcow2 two/sub/ctop.qcow2
qemu-img convert -O raw two/sub/top.qcow2 two.raw
dk commit -q two/sub/ctop.qcow2
same_content two/base.qcow2 two.raw
same_content two/sub/ctop.qcow2 two.raw
check_clean two/sub/ctop.qcow2 qcow2
check_clean two/base.qcow2 qcow2
echo ok
