# `convert -B BASE -F FMT` writes a thin delta: it names BASE as its backing
# file, holds only what differs from BASE (smaller than a full copy), reads
# back identical to the source and passes `qemu-img check`.
source "${DK_TESTLIB:?run through ctest}" || exit 1
require_qemu
source "$(dirname "$DK_TESTLIB")/matrix.sh"
DK_MATRIX_FILTER='^chain_' build_matrix "$T/m"
cd "$T/m"
# BASE is the source's own backing file (as qemu-img assumes: it copies only
# what the top image allocates), once a qcow2, once a qcow2 over raw.
qemu-img create -q -f qcow2 -b cr_base.raw -F raw over_raw.qcow2
qemu-io -f qcow2 -c 'write -P 0x5a 1234 5000' -c 'write -z 1M 64k' -c 'write -P 0x42 6M 100k' \
  over_raw.qcow2 >/dev/null
for c in "over_raw.qcow2 cr_base.raw raw" "chain_qcow2.qcow2 cq_mid.qcow2 qcow2" \
         "chain_raw.qcow2 cr_mid.qcow2 qcow2"; do
  read -r top base bfmt <<<"$c"
  rm -f full.qcow2 delta.qcow2 want.qcow2
  qemu-img convert -O qcow2 "$top" full.qcow2
  qemu-img convert -O qcow2 -B "$base" -F "$bfmt" "$top" want.qcow2
  dk convert -O qcow2 -B "$base" -F "$bfmt" "$top" delta.qcow2 || fail "diskit convert -B $base failed"
  check_clean delta.qcow2 qcow2
  qemu-img compare -q "$top" delta.qcow2 || fail "delta over $base reads differently from $top"
  info=$(qemu-img info --output=json delta.qcow2)
  grep -q "\"backing-filename\": \"$base\"" <<<"$info" || fail "delta does not name $base: $info"
  grep -q "\"backing-filename-format\": \"$bfmt\"" <<<"$info" || fail "delta does not name format $bfmt"
  full=$(stat -c %s full.qcow2) delta=$(stat -c %s delta.qcow2) want=$(stat -c %s want.qcow2)
  [ "$delta" -lt "$full" ] || fail "delta over $base is not thin: $delta >= full copy $full"
  # Not more than qemu-img's delta plus a few clusters of slack.
  [ "$delta" -le $((want + 4 * 65536)) ] || fail "delta over $base: $delta bytes, qemu-img needs $want"
  # It allocates nothing qemu-img's delta leaves to the backing file (it may
  # allocate less: skipping ranges the backing file already reads the same).
  python3 - delta.qcow2 want.qcow2 <<'PY' || fail "delta over $base allocates ranges qemu-img's does not"
import json, subprocess, sys
def alloc(p):
    m = json.loads(subprocess.check_output(["qemu-img", "map", "--output=json", p]))
    return [(e["start"], e["length"], e["zero"], e["data"]) for e in m if e["depth"] == 0]
a, b = alloc(sys.argv[1]), alloc(sys.argv[2])
def covered(s, l):
    for (bs, bl, _, _) in b:
        if bs <= s < bs + bl:
            n = min(l, bs + bl - s)
            return n == l or covered(s + n, l - n)
    return False
bad = [e for e in a if not covered(e[0], e[1])]
if bad:
    print("diskit allocates:", bad[:8]); print("qemu allocates:  ", b[:8]); sys.exit(1)
PY
done
# -B without -F: qemu-img 7.2 requires the format; so does diskit.
capture want qemu-img convert -O qcow2 -B cq_base.qcow2 chain_qcow2.qcow2 x1.qcow2
capture got dk convert -O qcow2 -B cq_base.qcow2 chain_qcow2.qcow2 x2.qcow2
same_file want.rc got.rc "exit status of convert -B without -F"
echo ok
