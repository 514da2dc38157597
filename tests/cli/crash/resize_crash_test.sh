# resize killed at every point: after `diskit check -r all` the image is
# clean, its virtual size is the old or the new one, and the data below
# min(old, new) size is the data it had before (a grown part reads as zero).
source "$(dirname "${BASH_SOURCE[0]}")/crash_lib.sh" || exit 1
CRASH_IMAGES=img.qcow2

# make_img CLUSTER SIZE: img.qcow2 with data spread over SIZE, and ref.raw.
make_img() {
  qemu-img create -q -f qcow2 -o cluster_size=$1 img.qcow2 "$2"
  qemu-io -c 'write -P 0x11 0 300k' -c 'write -P 0x22 1M 64k' -c 'write -P 0x33 5M 1M' \
    -c 'write -P 0x44 15M 1M' -c 'write -z 5200k 8k' img.qcow2 >/dev/null
  as_raw img.qcow2 ref.raw
}

OLD=$((16 << 20))
crash_verify() {
  local size
  size=$(vsize img.qcow2)
  [ "$size" = "$OLD" ] || [ "$size" = "$NEW" ] || fail "virtual size $size is neither $OLD nor $NEW"
  if [ "$size" -gt "$OLD" ]; then
    # qemu-img compare requires the part beyond the smaller image to read as zeroes.
    same_guest ref.raw img.qcow2
  else
    as_raw img.qcow2 now.raw
    # A shrink may drop the part beyond the new size before the header says so.
    same_prefix ref.raw now.raw $(( NEW < OLD ? NEW : OLD ))
  fi
}

# Growing 4k-cluster images moves the L1 table (many clusters of it).
crash_setup() { make_img 4k 16M; }
NEW=$((3 << 30)) crash_scenario "grow 4k 16M->3G" 40 10 -- dk resize -q img.qcow2 3G
NEW=$((20 << 20)) crash_scenario "grow 4k 16M->20M full" 40 5 -- dk resize -q --preallocation=full img.qcow2 20M
NEW=$((5 << 20)) crash_scenario "shrink 4k 16M->5M" 50 5 -- dk resize -q --shrink img.qcow2 5M
crash_setup() { make_img 64k 16M; }
NEW=$((2 << 40)) crash_scenario "grow 64k 16M->2T" 40 5 -- dk resize -q img.qcow2 2T
NEW=$((12 << 20)) crash_scenario "shrink 64k 16M->12M" 40 5 -- dk resize -q --shrink img.qcow2 12M
crash_finish resize
