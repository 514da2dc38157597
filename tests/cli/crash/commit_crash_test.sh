# commit killed at every point: after `diskit check -r all` of every image
# the guest content seen through the top image is still the union (top over
# base) it was before, and the base holds, sector by sector, either its old
# data or the union's (all of the union once commit has reported success).
# So nothing is lost: the top keeps its data until the base has it.
source "$(dirname "${BASH_SOURCE[0]}")/crash_lib.sh" || exit 1
has_command commit || fail "diskit has no commit command"
CRASH_IMAGES="top.qcow2 base.qcow2"

# make_chain BASE_CLUSTER TOP_CLUSTER [MID]: top.qcow2 over base.qcow2 (over
# mid.qcow2 between them with MID), with union.raw (the guest content) and
# base_old.raw (the base's own content).
make_chain() {
  local below=base.qcow2
  qemu-img create -q -f qcow2 -o cluster_size=$1 base.qcow2 8M
  qemu-io -c 'write -P 0x01 0 3M' -c 'write -P 0x02 6M 2M' base.qcow2 >/dev/null
  if [ -n "${3:-}" ]; then
    qemu-img create -q -f qcow2 -o cluster_size=$1 -b base.qcow2 -F qcow2 mid.qcow2 8M
    qemu-io -c 'write -P 0x03 2M 2M' -c 'write -z 6M 128k' mid.qcow2 >/dev/null
    below=mid.qcow2
  fi
  qemu-img create -q -f qcow2 -o cluster_size=$2 -b $below -F qcow2 top.qcow2 8M
  qemu-io -c 'write -P 0x05 1M 1M' -c 'write -P 0x06 3500k 900k' -c 'write -z 6500k 256k' \
    -c 'write -P 0x07 7M 64k' -c 'write -P 0x08 8188k 4k' top.qcow2 >/dev/null
  as_raw top.qcow2 union.raw
  as_raw base.qcow2 base_old.raw
}

# mixed_of NOW OLD NEW: every sector of NOW equals OLD's or NEW's.
mixed_of() {
  python3 - "$@" <<'PY' || fail "base.qcow2 has data that is neither its old data nor the union's"
import sys
now, old, new = (open(p, "rb").read() for p in sys.argv[1:])
assert len(now) == len(old) == len(new)
for c in range(0, len(now), 65536):
    n = now[c:c + 65536]
    if n == old[c:c + 65536] or n == new[c:c + 65536]:
        continue
    for s in range(c, min(c + 65536, len(now)), 512):
        if now[s:s + 512] not in (old[s:s + 512], new[s:s + 512]):
            print("sector at", s, "is neither"); sys.exit(1)
PY
}

crash_verify() {
  same_guest union.raw top.qcow2
  as_raw base.qcow2 base_now.raw
  if [ -s cmd.rc ] && [ "$(cat cmd.rc)" = 0 ]; then
    cmp -s base_now.raw union.raw || fail "commit succeeded but the base is not the union"
  else
    mixed_of base_now.raw base_old.raw union.raw
  fi
}

crash_setup() { make_chain 4k 64k; }
crash_scenario "4k base, 64k top" 60 8 -- dk commit top.qcow2
crash_scenario "4k base, 64k top, -d" 30 4 -- dk commit -d top.qcow2
crash_setup() { make_chain 64k 4k; }
crash_scenario "64k base, 4k top" 40 4 -- dk commit top.qcow2
crash_setup() { make_chain 4k 4k mid; }
CRASH_IMAGES="top.qcow2 mid.qcow2 base.qcow2"
crash_scenario "4k chain, -b base" 40 4 -- dk commit -b base.qcow2 top.qcow2
crash_finish commit
