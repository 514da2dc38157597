# Sourced by differential tests (after lib.sh): builds the image matrix with
# qemu-img/qemu-io, the oracle. Every image is small (MiBs) and carries data
# written at unaligned and sub-cluster offsets, zero writes and discards.
#
#   build_matrix DIR     makes the images in DIR and writes DIR/list with one
#                        "name format" line per image (name = file in DIR)
#
# Set DK_MATRIX_FILTER to an extended regex to build only matching names.

# The guest writes every image gets (one qemu-io session; 8 MiB images).
DK_FILL_CMDS=(
  -c 'write -P 0x5a 1234 5000'
  -c 'write -P 0xa5 64k 64k'
  -c 'write -P 0x11 300k 200000'
  -c 'write -z 320k 64k'
  -c 'write -z 1M 128k'
  -c 'write -P 0x77 3M 512'
  -c 'write -P 0x33 3145729 4097'
  -c 'write -P 0x42 6M 1M'
  -c 'discard 6M 64k'
  -c 'write -P 0x99 8380416 1024'
)

# qio FMT IMG CMDS...: qemu-io with output silenced; fails the test on error.
qio() {
  local fmt=$1 img=$2; shift 2
  qemu-io -f "$fmt" "$@" "$img" >/dev/null || fail "qemu-io $* $img failed"
}

fill() { qio "$2" "$1" "${DK_FILL_CMDS[@]}"; }

_mx_want() { [[ -z "${DK_MATRIX_FILTER:-}" || "$1" =~ ${DK_MATRIX_FILTER} ]]; }
_mx_add() { echo "$1 $2" >>"$MX/list"; }

# _mx_qcow2 NAME OPTS: a filled 8 MiB qcow2 image created with -o OPTS.
_mx_qcow2() {
  local name=$1 opts=$2
  _mx_want "$name" || return 0
  qemu-img create -q -f qcow2 ${opts:+-o "$opts"} "$MX/$name.qcow2" 8M || fail "create $name"
  fill "$MX/$name.qcow2" qcow2
  _mx_add "$name.qcow2" qcow2
}

build_matrix() {
  MX=$1
  mkdir -p "$MX"
  : >"$MX/list"
  local o
  # Header versions, cluster sizes, refcount widths, lazy refcounts.
  _mx_qcow2 compat010 compat=0.10
  _mx_qcow2 compat11 compat=1.1
  for o in 512 4k 64k 2M; do _mx_qcow2 "cluster$o" "cluster_size=$o"; done
  for o in 1 8 16 64; do _mx_qcow2 "refcount$o" "refcount_bits=$o"; done
  _mx_qcow2 lazy lazy_refcounts=on
  _mx_qcow2 el2_32k extended_l2=on,cluster_size=32k
  _mx_qcow2 el2_64k extended_l2=on
  _mx_qcow2 el2_128k extended_l2=on,cluster_size=128k
  for o in metadata falloc full; do _mx_qcow2 "prealloc_$o" "preallocation=$o"; done
  _mx_qcow2 datafile "data_file=$MX/datafile.data"
  _mx_qcow2 datafile_raw "data_file=$MX/datafile_raw.data,data_file_raw=on"

  # A dirty image: lazy refcounts, the session aborts before a clean close.
  if _mx_want dirty; then
    qemu-img create -q -f qcow2 -o lazy_refcounts=on "$MX/dirty.qcow2" 8M
    { (ulimit -c 0; qemu-io -f qcow2 "${DK_FILL_CMDS[@]}" -c abort "$MX/dirty.qcow2"); } \
      >/dev/null 2>&1 || true
    qemu-img info --output=json "$MX/dirty.qcow2" | grep -q '"dirty-flag": true' ||
      fail "could not make a dirty image"
    _mx_add dirty.qcow2 qcow2
  fi

  # Compressed clusters (zlib, zstd) with qemu-img convert -c from a raw
  # image holding compressible, incompressible, zero and unaligned data.
  if _mx_want plain || _mx_want compressed_zlib || _mx_want compressed_zstd ||
    _mx_want compressed_4k; then
    qemu-img create -q -f raw "$MX/plain.raw" 8M
    fill "$MX/plain.raw" raw
    head -c 200000 /dev/urandom | dd of="$MX/plain.raw" bs=1 seek=2000000 conv=notrunc status=none
    if _mx_want plain; then _mx_add plain.raw raw; fi
    for o in zlib zstd; do
      _mx_want "compressed_$o" || continue
      qemu-img convert -c -O qcow2 -o compression_type=$o "$MX/plain.raw" "$MX/compressed_$o.qcow2"
      _mx_add "compressed_$o.qcow2" qcow2
    done
    if _mx_want compressed_4k; then
      qemu-img convert -c -O qcow2 -o cluster_size=4k "$MX/plain.raw" "$MX/compressed_4k.qcow2"
      # Overwrite part of a compressed cluster range (a mixed image).
      qio qcow2 "$MX/compressed_4k.qcow2" -c 'write -P 0x66 5000 3000'
      _mx_add compressed_4k.qcow2 qcow2
    fi
  fi

  # Three-deep chains: over a raw base, and over a shorter qcow2 base.
  if _mx_want chain_raw; then
    qemu-img create -q -f raw "$MX/cr_base.raw" 8M
    qio raw "$MX/cr_base.raw" -c 'write -P 0x01 0 8M'
    qemu-img create -q -f qcow2 -b cr_base.raw -F raw "$MX/cr_mid.qcow2"
    qio qcow2 "$MX/cr_mid.qcow2" -c 'write -P 0x02 100000 70000' -c 'write -z 1M 64k' \
      -c 'discard 2M 64k'
    qemu-img create -q -f qcow2 -b cr_mid.qcow2 -F qcow2 "$MX/chain_raw.qcow2"
    fill "$MX/chain_raw.qcow2" qcow2
    _mx_add chain_raw.qcow2 qcow2
  fi
  if _mx_want chain_qcow2; then
    qemu-img create -q -f qcow2 "$MX/cq_base.qcow2" 4M
    qio qcow2 "$MX/cq_base.qcow2" -c 'write -P 0x01 0 4M'
    qemu-img create -q -f qcow2 -b cq_base.qcow2 -F qcow2 "$MX/cq_mid.qcow2" 6M
    qio qcow2 "$MX/cq_mid.qcow2" -c 'write -P 0x02 3M 2M' -c 'write -z 512k 1000'
    qemu-img create -q -f qcow2 -b cq_mid.qcow2 -F qcow2 "$MX/chain_qcow2.qcow2" 8M
    qio qcow2 "$MX/chain_qcow2.qcow2" -c 'write -P 0x03 1234 5000' -c 'write -z 3M 64k' \
      -c 'write -P 0x04 7M 4096' -c 'discard 0 64k'
    _mx_add chain_qcow2.qcow2 qcow2
  fi

  # Internal snapshots, then more writes on top of them.
  if _mx_want snapshot; then
    qemu-img create -q -f qcow2 "$MX/snapshot.qcow2" 8M
    fill "$MX/snapshot.qcow2" qcow2
    qemu-img snapshot -c s1 "$MX/snapshot.qcow2"
    qio qcow2 "$MX/snapshot.qcow2" -c 'write -P 0xee 0 128k' -c 'write -z 6M 1M' \
      -c 'discard 3M 64k'
    qemu-img snapshot -c s2 "$MX/snapshot.qcow2"
    qio qcow2 "$MX/snapshot.qcow2" -c 'write -P 0xdd 64k 1M'
    _mx_add snapshot.qcow2 qcow2
  fi

  # One large sparse image (1 GiB virtual, a few clusters written far out).
  if _mx_want large; then
    qemu-img create -q -f qcow2 "$MX/large.qcow2" 1G
    qio qcow2 "$MX/large.qcow2" -c 'write -P 0x5a 1234 5000' -c 'write -P 0x6b 700M 70000' \
      -c 'write -z 900M 1M' -c 'write -P 0x7c 1073676288 65536'
    _mx_add large.qcow2 qcow2
  fi
  [ -s "$MX/list" ] || fail "matrix filter '${DK_MATRIX_FILTER:-}' matched nothing"
}
