#!/bin/bash
# Differential tests of the vmdk driver against qemu-img 7.2: every
# subformat made by qemu-img reads byte-identical, map and info match, and
# every subformat diskit writes is accepted by qemu-img (check, compare).
source "$DK_TESTLIB"
require qemu-img
require qemu-io

SUBFORMATS="monolithicSparse monolithicFlat twoGbMaxExtentSparse twoGbMaxExtentFlat streamOptimized"
SIZE=3G

# A raw source with a few data runs, some straddling grains and the 2 GiB split.
qemu-img create -q -f raw src.raw $SIZE
qemu-io -f raw -c 'write -P 0x11 123456 70000' -c 'write -P 0x22 2147450000 100000' \
  -c 'write -P 0x33 1M 64k' -c 'write -P 0x44 3221159936 65536' src.raw >/dev/null

for sf in $SUBFORMATS; do
  # 1. qemu-img made, qemu-io written (streams via convert): diskit reads it.
  if [ "$sf" = streamOptimized ]; then
    qemu-img convert -O vmdk -o subformat=$sf src.raw q-$sf.vmdk
  else
    qemu-img create -q -f vmdk -o subformat=$sf q-$sf.vmdk $SIZE
    qemu-io -f vmdk -c 'write -P 0x11 123456 70000' -c 'write -P 0x22 2147450000 100000' \
      -c 'write -P 0x33 1M 64k' -c 'write -P 0x44 3221159936 65536' q-$sf.vmdk >/dev/null
  fi
  dk convert -O raw q-$sf.vmdk d.raw
  qemu-img convert -O raw q-$sf.vmdk q.raw
  cmp d.raw q.raw || fail "$sf: diskit convert -O raw differs from qemu-img"
  dk info --output=json q-$sf.vmdk >d.json
  qemu-img info --output=json q-$sf.vmdk >q.json
  same_json d.json q.json
  dk map --output=json q-$sf.vmdk >d.map
  qemu-img map --output=json q-$sf.vmdk >q.map
  same_json d.map q.map
  rm -f d.raw q.raw

  # 2. diskit made: qemu-img accepts it.
  dk create -q -f vmdk -o subformat=$sf d-$sf.vmdk $SIZE
  qemu-img info --output=json d-$sf.vmdk >/dev/null || fail "$sf: qemu-img cannot open diskit's image"
  # (-o before -O: the CLI's -o currently swallows following positionals)
  dk convert -o subformat=$sf -O vmdk src.raw c-$sf.vmdk
  dk info --output=json c-$sf.vmdk >d.json
  qemu-img info --output=json c-$sf.vmdk >q.json
  same_json d.json q.json
  dk map --output=json c-$sf.vmdk >d.map
  qemu-img map --output=json c-$sf.vmdk >q.map
  same_json d.map q.map
  same_content src.raw c-$sf.vmdk
  case $sf in *Sparse) qemu-img check -q c-$sf.vmdk || fail "$sf: qemu-img check failed" ;; esac
  if [ "$sf" != streamOptimized ]; then
    # qemu-io writes into diskit's image, diskit reads them back.
    qemu-io -f vmdk -c 'write -P 0x55 5000 9000' d-$sf.vmdk >/dev/null
    dk convert -O raw d-$sf.vmdk d.raw
    qemu-img convert -O raw d-$sf.vmdk q.raw
    cmp d.raw q.raw || fail "$sf: diskit and qemu-img read diskit's image differently"
    rm -f d.raw q.raw
  fi
  if [ "$sf" = streamOptimized ]; then
    python3 "$(dirname "$DK_TESTLIB")/vmdk/stream_layout.py" c-$sf.vmdk >/dev/null || fail "stream layout"
  fi
  rm -f ./*-$sf*.vmdk
done
echo OK
