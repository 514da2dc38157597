# Every image `diskit create` makes passes `qemu-img check`, compares equal
# to the one qemu-img creates with the same options, stays clean after
# qemu-io writes into it, and has the same `info` (key for key, the disk
# usage aside: create/layout compares that).
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu
source "$(dirname "$DK_TESTLIB")/create/combos.sh"
make_create_bases
for c in "${DK_CREATE_COMBOS[@]}"; do
  combo_args "$c"
  rm -f img want.img ext.data want.data
  qemu-img create -q "${ARGS[@]}" img ${SIZE:+"$SIZE"}
  qemu-img info --output=json img >want.json
  mv img want.img; [ -e ext.data ] && mv ext.data want.data
  dk create -q "${ARGS[@]}" img ${SIZE:+"$SIZE"} || fail "diskit create $c failed"
  qemu-img info --output=json img >got.json || fail "qemu-img cannot open the image of create $c"
  nosize() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d.pop("actual-size"); print(json.dumps(d))' "$1"; }
  same_json "$(nosize want.json)" "$(nosize got.json)"
  if [[ $EXTRA != *missing* ]]; then
    if [ "$FMT" = qcow2 ]; then check_clean img qcow2; fi
    # The data file name is stored relative; open the reference's copy by swapping.
    if [ -e want.data ]; then
      qemu-img compare -q -f "$FMT" -F raw img want.data || fail "create $c: content differs"
    else
      qemu-img compare -q -f "$FMT" -F "$FMT" img want.img || fail "create $c: content differs"
    fi
    sz=$(qemu-img info --output=json img | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')
    if [ "$sz" -ge 70000 ]; then
      qemu-io -f "$FMT" -c 'write -P 0x5a 1234 5000' -c 'write -z 32768 32768' \
        -c "write -P 0x42 $((sz - 4096)) 4096" -c 'discard 0 512' img >/dev/null ||
        fail "qemu-io cannot write into the image of create $c"
      if [ "$FMT" = qcow2 ]; then check_clean img qcow2; fi
    fi
  fi
done
echo "ok: ${#DK_CREATE_COMBOS[@]} combinations"
