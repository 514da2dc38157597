# rebase killed at every point: after `diskit check -r all` the overlay is
# clean, its header names the old or the new backing file, and the guest
# sees exactly what it saw before through whichever one it names (safe
# mode), or the overlay's own clusters are intact (unsafe mode).
source "$(dirname "${BASH_SOURCE[0]}")/crash_lib.sh" || exit 1
CRASH_IMAGES=top.qcow2

# make_chain CLUSTER: top.qcow2 (CLUSTER clusters) over old_base.qcow2, a
# new base nb.qcow2 that differs in parts, and top's guest content in ref.raw
# and own clusters in own.raw. The names differ in length so that a header
# half rewritten would show.
make_chain() {
  qemu-img create -q -f qcow2 old_base.qcow2 8M
  qemu-io -c 'write -P 0x01 0 4M' -c 'write -P 0x02 6M 1M' old_base.qcow2 >/dev/null
  qemu-img create -q -f qcow2 nb.qcow2 6M
  qemu-io -c 'write -P 0x01 0 2M' -c 'write -P 0x09 3M 512k' -c 'write -P 0x01 5M 64k' nb.qcow2 >/dev/null
  qemu-img create -q -f qcow2 -o cluster_size=$1 -b old_base.qcow2 -F qcow2 top.qcow2 8M
  qemu-io -c 'write -P 0x05 1M 512k' -c 'write -P 0x06 3200k 100k' -c 'write -z 6500k 64k' \
    -c 'write -P 0x07 7M 4k' top.qcow2 >/dev/null
  as_raw top.qcow2 ref.raw
  own_raw top.qcow2 own.raw
}

# own_raw IMG OUT: IMG's own clusters (its backing file left out) as raw.
own_raw() {
  qemu-img convert -U -O raw "json:{\"driver\":\"qcow2\",\"backing\":null,\"file\":{\"driver\":\"file\",\"filename\":\"$1\"}}" "$2"
}

# The header names one of the two backing files, and the guest content is the same.
verify_safe() {
  local b
  b=$(backing_of top.qcow2)
  [ "$b" = old_base.qcow2 ] || [ "$b" = "$NEW_BASE" ] || fail "backing file is '$b'"
  same_guest ref.raw top.qcow2
}

# Unsafe mode: one of the two names, and the overlay's own data unchanged.
verify_unsafe() {
  local b
  b=$(backing_of top.qcow2)
  [ "$b" = old_base.qcow2 ] || [ "$b" = "$NEW_BASE" ] || fail "backing file is '$b'"
  own_raw top.qcow2 now.raw
  cmp -s own.raw now.raw || fail "the overlay's own clusters changed"
}

crash_setup() { make_chain 4k; }
crash_verify() { verify_safe; }
NEW_BASE=nb.qcow2 crash_scenario "safe 4k -b nb.qcow2" 70 10 -- dk rebase -b nb.qcow2 -F qcow2 top.qcow2
NEW_BASE= crash_scenario "safe 4k -b ''" 50 5 -- dk rebase -b '' top.qcow2
crash_verify() { verify_unsafe; }
NEW_BASE=nb.qcow2 crash_scenario "unsafe 4k -u -b nb.qcow2" 20 5 -- dk rebase -u -b nb.qcow2 -F qcow2 top.qcow2
crash_setup() { make_chain 64k; }
crash_verify() { verify_safe; }
NEW_BASE=nb.qcow2 crash_scenario "safe 64k -b nb.qcow2" 40 5 -- dk rebase -b nb.qcow2 -F qcow2 top.qcow2
crash_finish rebase
