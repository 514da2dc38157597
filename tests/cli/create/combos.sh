# Sourced by create tests: the option combinations `create` is tested with.
# One entry per line: "FORMAT|OPTIONS (-o, may be empty)|EXTRA ARGS|SIZE".
# Backing files referenced here are made by make_create_bases.
DK_CREATE_COMBOS=(
  "raw|||8M"
  "raw|preallocation=off||8M"
  "raw|preallocation=falloc||8M"
  "raw|preallocation=full||8M"
  "raw|||0"
  "raw|||1234567"
  "qcow2|||8M"
  "qcow2|||0"
  "qcow2|||1234567"
  "qcow2|compat=0.10||8M"
  "qcow2|compat=v3||8M"
  "qcow2|compat=1.1,lazy_refcounts=on||8M"
  "qcow2|cluster_size=512||8M"
  "qcow2|cluster_size=4k||8M"
  "qcow2|cluster_size=2M||8M"
  "qcow2|cluster_size=4096,refcount_bits=1||64M"
  "qcow2|refcount_bits=8||8M"
  "qcow2|refcount_bits=64||8M"
  "qcow2|compat=0.10,refcount_bits=16||8M"
  "qcow2|extended_l2=on||8M"
  "qcow2|extended_l2=on,cluster_size=128k||8M"
  "qcow2|compression_type=zstd||8M"
  "qcow2|compression_type=zlib||8M"
  "qcow2|preallocation=off||8M"
  "qcow2|preallocation=metadata||64M"
  "qcow2|preallocation=falloc||8M"
  "qcow2|preallocation=full||8M"
  "qcow2|preallocation=metadata,cluster_size=4k||8M"
  "qcow2|data_file=ext.data||8M"
  "qcow2|data_file=ext.data,data_file_raw=on||8M"
  "qcow2|data_file=ext.data,data_file_raw=on,preallocation=full||8M"
  "qcow2||-b base.raw -F raw|"
  "qcow2||-b base.raw -F raw|16M"
  "qcow2||-b base.qcow2 -F qcow2|"
  "qcow2||-b base.qcow2 -F qcow2|2M"
  "qcow2|backing_file=base.qcow2,backing_fmt=qcow2||"
  "qcow2|compat=0.10|-b base.qcow2 -F qcow2|"
  "qcow2||-u -b missing.qcow2 -F qcow2|8M"
  "qcow2|cluster_size=64k,lazy_refcounts=on,refcount_bits=32||1G"
)

# make_create_bases: the backing files the combos name (in the cwd).
make_create_bases() {
  qemu-img create -q -f raw base.raw 4M
  qemu-io -f raw -c 'write -P 0x5a 1234 5000' base.raw >/dev/null
  qemu-img create -q -f qcow2 base.qcow2 6M
  qemu-io -f qcow2 -c 'write -P 0xa5 4M 100000' base.qcow2 >/dev/null
}

# combo_args ENTRY: sets FMT and ARGS (an array: the create arguments
# without the file name) and SIZE for one combo.
combo_args() {
  IFS='|' read -r FMT OPTS EXTRA SIZE <<<"$1"
  ARGS=(-f "$FMT")
  [ -n "$OPTS" ] && ARGS+=(-o "$OPTS")
  # shellcheck disable=SC2206
  [ -n "$EXTRA" ] && ARGS+=($EXTRA)
  return 0
}
