# amend's command line matches qemu-img amend: -o help listings, missing
# or extra arguments, formats that cannot be amended, bad option lists,
# cache modes, -q and -p output; same stdout, stderr and exit status.
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu

cli_case() {
  rm -f x.qcow2
  qemu-img create -q -f qcow2 -o compat=0.10 x.qcow2 4M
  cp x.qcow2 y.qcow2
  capture want qemu-img amend "$@"
  mv x.qcow2 want.qcow2
  cp y.qcow2 x.qcow2
  capture got dk amend "$@"
  sed -e 's/^qemu-img: /diskit: amend: /' -e "s/'qemu-img --help'/'diskit --help'/" want.err >want.err2
  same_file want.rc got.rc "exit status of amend $*"
  same_file want.out got.out "stdout of amend $*"
  same_file want.err2 got.err "stderr of amend $*"
  cmp -s <(qemu-img info --output=json want.qcow2 | grep -v '"filename"') \
         <(qemu-img info --output=json x.qcow2 | grep -v '"filename"') || fail "image differs after amend $*"
}

qemu-img create -q -f raw r.img 1M
cli_case -f qcow2 -o help
cli_case -f qcow2 -o help x.qcow2
cli_case -o help x.qcow2
cli_case -o '?' x.qcow2
cli_case -o help,compat=1.1 x.qcow2
cli_case -o compat=1.1,help x.qcow2
cli_case -f foo -o help x.qcow2
cli_case -f raw -o help
cli_case -f vmdk -o help
cli_case -f raw -o help r.img
cli_case -f raw -o compat=1.1 r.img
cli_case x.qcow2
cli_case -o compat=1.1
cli_case -o compat=1.1 x.qcow2 r.img
cli_case -o ,compat=1.1 x.qcow2
cli_case -o '' x.qcow2
cli_case -o compat=1.1, x.qcow2
cli_case -o compat=1.1 -o lazy_refcounts=on x.qcow2
cli_case -t foo -o compat=1.1 x.qcow2
cli_case -t none -o compat=1.1 x.qcow2
cli_case -t unsafe -o compat=1.1 x.qcow2
cli_case -q -o compat=1.1 x.qcow2
cli_case -p -o compat=1.1 x.qcow2
cli_case -p -q -o compat=1.1 x.qcow2
cli_case -p -o lazy_refcounts=off x.qcow2
cli_case --force -o compat=1.1 x.qcow2
cli_case -f qcow2 -o compat=1.1 x.qcow2
cli_case -o compat=1.1,refcount_bits=0x10 x.qcow2
cli_case -o compat=1.1,,x x.qcow2
cli_case -o compat x.qcow2
cli_case -o =1 x.qcow2
echo ok
