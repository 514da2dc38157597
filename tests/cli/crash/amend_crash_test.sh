# amend killed at every point: after `diskit check -r all` the image is
# clean, the amended option has its old or its new value, and the guest
# content and the snapshot's content are exactly what they were.
source "$(dirname "${BASH_SOURCE[0]}")/crash_lib.sh" || exit 1
has_command amend || fail "diskit has no amend command"
CRASH_IMAGES=img.qcow2

# make_img CLUSTER CREATE_OPTIONS [SHARED_ZERO]: img.qcow2 with data, zero
# clusters (which a downgrade to compat=0.10 must expand) and snapshot s1;
# ref.raw and s1.raw hold the active and the snapshot content. With
# SHARED_ZERO, an active zero cluster keeps a host cluster the snapshot still
# reads data from (expanding it in place would change the snapshot).
make_img() {
  qemu-img create -q -f qcow2 -o "cluster_size=$1,$2" img.qcow2 8M
  qemu-io -c 'write -P 0x11 0 2M' -c 'write -P 0x12 5M 300k' -c 'write -z 1M 128k' img.qcow2 >/dev/null
  qemu-img snapshot -c s1 img.qcow2
  qemu-io -c 'write -P 0x21 1536k 1M' -c 'write -z 7M 64k' img.qcow2 >/dev/null
  [ -z "${3:-}" ] || qemu-io -c 'write -z 5M 64k' img.qcow2 >/dev/null
  as_raw img.qcow2 ref.raw
  as_raw img.qcow2 s1.raw -l snapshot.name=s1
}

# info_field NAME: the value of "NAME:" in qemu-img info's format specific part.
info_field() { qemu-img info -U img.qcow2 | sed -n "s/^ *$1: //p"; }

# Verifies the content and that FIELD (of qemu-img info) is OLD or NEW.
crash_verify() {
  local v
  v=$(info_field "$FIELD")
  [ "$v" = "$OLD" ] || [ "$v" = "$NEW" ] || fail "$FIELD is '$v', neither '$OLD' nor '$NEW'"
  same_guest ref.raw img.qcow2
  as_raw img.qcow2 snap.raw -l snapshot.name=s1
  cmp -s snap.raw s1.raw || fail "snapshot s1 changed"
}

crash_setup() { make_img 4k compat=1.1; }
FIELD=compat OLD=1.1 NEW=0.10 crash_scenario "4k compat=0.10" 50 6 -- dk amend -o compat=0.10 img.qcow2
FIELD="refcount bits" OLD=16 NEW=4 crash_scenario "4k refcount_bits=4" 60 6 -- dk amend -o refcount_bits=4 img.qcow2
FIELD="refcount bits" OLD=16 NEW=64 crash_scenario "4k refcount_bits=64" 40 4 -- dk amend -o refcount_bits=64 img.qcow2
FIELD="lazy refcounts" OLD=false NEW=true crash_scenario "4k lazy_refcounts=on" 20 4 -- dk amend -o lazy_refcounts=on img.qcow2
crash_setup() { make_img 4k compat=1.1,lazy_refcounts=on shared-zero; }
FIELD="lazy refcounts" OLD=true NEW=false crash_scenario "4k lazy_refcounts=off" 20 4 -- dk amend -o lazy_refcounts=off img.qcow2
crash_setup() { make_img 4k compat=0.10; }
FIELD=compat OLD=0.10 NEW=1.1 crash_scenario "4k compat=1.1" 20 4 -- dk amend -o compat=1.1 img.qcow2
crash_setup() { make_img 64k compat=1.1; }
FIELD="refcount bits" OLD=16 NEW=2 crash_scenario "64k refcount_bits=2" 30 4 -- dk amend -o refcount_bits=2 img.qcow2
crash_finish amend
