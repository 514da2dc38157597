# Invalid `create` invocations exit 1 like qemu-img, with the error on
# stderr prefixed "diskit: ", and print the same stdout as qemu-img (which
# prints its "Formatting" line before the driver rejects an option).
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu
cases=(
  "-f raw x 1x"
  "-f raw x -- -1"
  "-f raw x abc"
  "-f raw x 1e"
  "-f qcow2 x 1E"
  "-f qcow2 x"
  "-f nosuchfmt x 1M"
  "-f qcow2 -o foo=bar x 1M"
  "-f raw -o cluster_size=4k x 1M"
  "-f qcow2 -o cluster_size=3000 x 1M"
  "-f qcow2 -o cluster_size=4M x 1M"
  "-f qcow2 -o cluster_size=256 x 1M"
  "-f qcow2 -o compat=0.10,extended_l2=on x 1M"
  "-f qcow2 -o compat=0.10,lazy_refcounts=on x 1M"
  "-f qcow2 -o compat=2 x 1M"
  "-f qcow2 -o refcount_bits=3 x 1M"
  "-f qcow2 -o refcount_bits=128 x 1M"
  "-f qcow2 -o compat=0.10,refcount_bits=8 x 1M"
  "-f qcow2 -o preallocation=bogus x 1M"
  "-f qcow2 -o compression_type=lzma x 1M"
  "-f qcow2 -o compat=0.10,compression_type=zstd x 1M"
  "-f qcow2 -o lazy_refcounts=maybe x 1M"
  "-f qcow2 -o data_file_raw=on x 1M"
  "-f qcow2 -o extended_l2=on,cluster_size=4k x 1M"
  "-f qcow2 -b missing.qcow2 -F qcow2 x 1M"
  "-f qcow2 -b missing.qcow2 -F qcow2 x"
  "-f qcow2 -b x -F qcow2 x 1M"
  "-f raw -b base.raw -F raw x 1M"
)
qemu-img create -q -f raw base.raw 1M
for c in "${cases[@]}"; do
  rm -f x
  # shellcheck disable=SC2086
  capture want qemu-img create $c
  rm -f x
  # shellcheck disable=SC2086
  capture got dk create $c
  [ "$(cat want.rc)" = 1 ] || fail "test is void: qemu-img create $c exited $(cat want.rc)"
  same_file want.rc got.rc "exit status of create $c"
  [ -s got.err ] || fail "create $c: no error message"
  head -1 got.err | grep -q '^diskit: ' || fail "create $c: stderr does not start with 'diskit: ': $(cat got.err)"
done
# The stdout (the "Formatting" line printed before validation) matches too.
for c in "${cases[@]}"; do
  rm -f x
  # shellcheck disable=SC2086
  capture want qemu-img create $c
  rm -f x
  # shellcheck disable=SC2086
  capture got dk create $c
  same_file want.out got.out "stdout of create $c"
done
echo "ok: ${#cases[@]} cases"
