# `diskit compare` prints the same stdout and exits with the same status
# (0 identical, 1 different, 2 error) as qemu-img compare, case by case.
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu
qio() { qemu-io -f "$1" -c "$2" "$3" >/dev/null || fail "qemu-io $2 $3"; }
qemu-img create -q -f raw a.raw 4M
qio raw 'write -P 0x5a 1234 5000' a.raw
cp a.raw same.raw
cp a.raw diff1.raw && qio raw 'write -P 0x01 5000 1' diff1.raw
cp a.raw difflast.raw && qio raw 'write -P 0x01 4194303 1' difflast.raw
qemu-img create -q -f raw big.raw 8M && dd if=a.raw of=big.raw conv=notrunc status=none
cp big.raw bigtail.raw && qio raw 'write -P 0x02 6M 1' bigtail.raw
qemu-img convert -O qcow2 a.raw a.qcow2
qemu-img create -q -f qcow2 empty.qcow2 4M
qemu-img create -q -f raw zero.raw 4M
qemu-img create -q -f qcow2 -b a.qcow2 -F qcow2 over.qcow2
qemu-img create -q -f qcow2 -b a.qcow2 -F qcow2 over2.qcow2
qio qcow2 'write -P 0x03 2M 4096' over2.qcow2
qemu-img create -q -f qcow2 -b a.qcow2 -F qcow2 overz.qcow2
qio qcow2 'write -z 0 64k' overz.qcow2
echo garbage >text.txt

cases=(
  "a.raw same.raw"
  "a.raw diff1.raw"
  "a.raw difflast.raw"
  "a.raw big.raw"
  "big.raw a.raw"
  "a.raw bigtail.raw"
  "bigtail.raw a.raw"
  "-s a.raw big.raw"
  "-s a.raw same.raw"
  "-s zero.raw empty.qcow2"
  "zero.raw empty.qcow2"
  "-f raw -F qcow2 a.raw a.qcow2"
  "a.raw a.qcow2"
  "a.qcow2 over.qcow2"
  "-s a.qcow2 over.qcow2"
  "over.qcow2 over2.qcow2"
  "over2.qcow2 a.raw"
  "overz.qcow2 a.raw"
  "-q a.raw same.raw"
  "-q a.raw diff1.raw"
  "-q a.raw missing.raw"
  "a.raw missing.raw"
  "missing.raw a.raw"
  "-f qcow2 a.raw a.qcow2"
  "-f nosuchfmt a.raw a.raw"
  "-F raw a.raw a.qcow2"
  "-p a.raw same.raw"
)
for c in "${cases[@]}"; do
  # shellcheck disable=SC2086
  capture want qemu-img compare $c
  # shellcheck disable=SC2086
  capture got dk compare $c
  same_file want.rc got.rc "exit status of 'compare $c'"
  # -p draws progress on stdout; only the final line must match there.
  if [[ $c == -p* ]]; then
    tail -c 22 want.out >want.tail; tail -c 22 got.out >got.tail
    same_file want.tail got.tail "stdout of 'compare $c'"
  else
    same_file want.out got.out "stdout of 'compare $c'"
  fi
  if [ "$(cat got.rc)" = 2 ]; then
    grep -q '^diskit: ' got.err || fail "compare $c: error does not start with 'diskit: '"
  fi
done
echo "ok: ${#cases[@]} cases"
