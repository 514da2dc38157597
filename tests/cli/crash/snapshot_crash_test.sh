# snapshot -c/-d/-a killed at every point: after `diskit check -r all` the
# image is clean, the active content is the old or the new state, every
# snapshot that existed before and is not being deleted reads as before, and
# a snapshot being created or deleted either is absent or reads complete.
source "$(dirname "${BASH_SOURCE[0]}")/crash_lib.sh" || exit 1
has_command snapshot || fail "diskit has no snapshot command"
CRASH_IMAGES=img.qcow2

# make_img CLUSTER: img.qcow2 with snapshots s1 and second-snap (taken after
# more writes) and active data that differs from both; s1.raw,
# second-snap.raw and active.raw hold their contents.
make_img() {
  qemu-img create -q -f qcow2 -o cluster_size=$1 img.qcow2 8M
  qemu-io -c 'write -P 0x11 0 1M' -c 'write -P 0x12 3M 200k' -c 'write -P 0x13 7M 1M' img.qcow2 >/dev/null
  qemu-img snapshot -c s1 img.qcow2
  qemu-io -c 'write -P 0x21 512k 1M' -c 'write -z 7M 64k' -c 'write -P 0x22 5M 300k' img.qcow2 >/dev/null
  qemu-img snapshot -c second-snap img.qcow2
  qemu-io -c 'write -P 0x31 0 64k' -c 'write -P 0x32 3100k 400k' -c 'discard 5M 64k' img.qcow2 >/dev/null
  as_raw img.qcow2 s1.raw -l snapshot.name=s1
  as_raw img.qcow2 second-snap.raw -l snapshot.name=second-snap
  as_raw img.qcow2 active.raw
}

snapshots() { qemu-img snapshot -U -l img.qcow2 | awk 'NR > 2 { print $2 }' | tr '\n' ' '; }

# snap_is NAME REF.raw: snapshot NAME reads as REF.
snap_is() {
  as_raw img.qcow2 snap.raw -l "snapshot.name=$1"
  cmp -s snap.raw "$2" || fail "snapshot $1 differs from $2"
}

# active_is REF.raw...: the active content is one of the references.
active_is() {
  local r
  for r in "$@"; do qemu-img compare -q -f raw -F qcow2 "$r" img.qcow2 && return 0; done
  fail "active content is none of: $*"
}

crash_setup() { make_img 4k; }

crash_verify() {
  local list
  list=$(snapshots)
  case "$list" in
    "s1 second-snap ") ;;
    "s1 second-snap new ") snap_is new active.raw ;;
    *) fail "snapshots are '$list'" ;;
  esac
  active_is active.raw
  snap_is s1 s1.raw
  snap_is second-snap second-snap.raw
}
crash_scenario "create 4k" 50 8 -- dk snapshot -c new img.qcow2

crash_verify() {
  local list
  list=$(snapshots)
  case "$list" in
    "s1 second-snap ") snap_is s1 s1.raw ;;
    "second-snap ") ;;
    *) fail "snapshots are '$list'" ;;
  esac
  active_is active.raw
  snap_is second-snap second-snap.raw
}
crash_scenario "delete 4k" 50 8 -- dk snapshot -d s1 img.qcow2

crash_verify() {
  local list
  list=$(snapshots)
  [ "$list" = "s1 second-snap " ] || fail "snapshots are '$list'"
  active_is active.raw s1.raw
  snap_is s1 s1.raw
  snap_is second-snap second-snap.raw
}
crash_scenario "apply 4k" 50 8 -- dk snapshot -a s1 img.qcow2

crash_setup() { make_img 64k; }
crash_scenario "apply 64k" 30 4 -- dk snapshot -a s1 img.qcow2
crash_finish snapshot
