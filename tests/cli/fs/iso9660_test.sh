#!/bin/bash
# ISO 9660 images made by xorriso from a source tree, with Rock Ridge (deep
# directories relocated), Joliet, both, and neither, one wrapped in qcow2
# and one hybrid (MBR): ls -R, ls -lR, cat and filesystems must show the
# source tree (Rock Ridge), what bsdtar reads (Joliet, plain names) and what
# blkid says (label, UUID); the images are never modified.
source "$DK_TESTLIB"
require_qemu; require xorriso; require bsdtar; require blkid

long=$(printf 'long-name-%.0s' $(seq 1 20))   # 200 bytes, beyond Joliet's 64
mkdir -p tree/Dir1/sub "tree/Mixed Case Dir/Inner" tree/empty
echo hello > tree/Dir1/File.TXT
echo "spaces and case" > "tree/Mixed Case Dir/Inner/Some File.Txt"
echo long > "tree/$long"
echo noext > tree/README; chmod 640 tree/README
head -c 300000 /dev/urandom > tree/Dir1/big.bin; chmod 755 tree/Dir1/big.bin
: > tree/Dir1/zero
ln -s Dir1/File.TXT tree/link
ln -s /etc/passwd tree/abs
ln -s ../../README tree/Dir1/sub/up
d=tree; for i in $(seq 1 11); do d=$d/deep$i; done
mkdir -p "$d"; echo bottom > "$d/leaf"
touch -d '2001-02-03 04:05:06 UTC' tree/README

mk() {  # mk NAME XORRISO-OPTIONS...
  local name=$1; shift
  xorriso -as mkisofs -quiet "$@" -V "Test Volume" -o "$name.iso" tree 2>/dev/null ||
    fail "xorriso $* failed"
}
mk rr -R -rr_reloc_dir RR_MOVED
mk rrj -R -J
mk joliet -J --norock
mk plain --norock
mk hybrid -R -J --protective-msdos-label
# Creation and modification dates differ: blkid's UUID is the modification date.
xorriso -outdev dates.iso -volume_date c 2010010203040500 -volume_date m 2011010203040500 \
  -map tree/Dir1 / -commit >/dev/null 2>&1 || fail "xorriso -volume_date failed"
qemu-img convert -f raw -O qcow2 rr.iso rr.qcow2
sums_before=$(md5sum ./*.iso rr.qcow2)

want_tree() { (cd tree && find . -mindepth 1 | sed 's|^\.||') | LC_ALL=C sort; }
# bsdtar's listing as absolute paths; extra options pick its name space.
bsdtar_list() { bsdtar -tf "$@" | grep -v '^\.$' | sed 's|/$||; s|^|/|' | LC_ALL=C sort; }
dk_list() { dk ls -a "$1" -m /dev/sda -R / | LC_ALL=C sort; }

# Rock Ridge: the source tree exactly, relocated directories in place.
want_tree > tree.want
for img in rr.iso rrj.iso rr.qcow2 hybrid.iso; do
  dk_list "$img" > "$img.lsr"
  same_file tree.want "$img.lsr" "ls -R of $img"
done
# (bsdtar 3.6 rejects xorriso's relocated directories: "Invalid Rockridge
# RE"; it reads the image without relocation.)
bsdtar_list rrj.iso > rrj.bsdtar
same_file rrj.bsdtar rrj.iso.lsr "ls -R vs bsdtar (Rock Ridge)"
# The relocation really happened in the ISO 9660 tree (bsdtar without RR).
bsdtar -tf rr.iso --options '!rockridge' | grep -q '^RR_MOVED/' || fail "xorriso relocated nothing"

# Joliet only, and plain ISO 9660 names: the same names bsdtar reads, the
# plain ones lowercased as Linux's map=normal does.
dk_list joliet.iso > joliet.lsr
bsdtar_list joliet.iso > joliet.bsdtar
same_file joliet.bsdtar joliet.lsr "ls -R vs bsdtar (Joliet)"
grep -qx "/Mixed Case Dir/Inner/Some File.Txt" joliet.lsr || fail "Joliet mixed case: $(cat joliet.lsr)"
dk_list plain.iso > plain.lsr
bsdtar_list plain.iso --options '!rockridge,!joliet' | tr 'A-Z' 'a-z' | LC_ALL=C sort > plain.bsdtar
same_file plain.bsdtar plain.lsr "ls -R vs bsdtar (plain ISO 9660)"
grep -qx /readme plain.lsr || fail "plain name mapping: $(cat plain.lsr)"

# ls -lR with Rock Ridge: type, mode, size and link targets as stat sees them.
dk ls -a rr.qcow2 -m /dev/sda -lR / | grep -v '^d ' | sed -E 's/^(.) ([0-7]+) +([0-9]+) /\1 \2 \3 /' |
  LC_ALL=C sort > lslr.out
(cd tree && find . -mindepth 1 ! -type d -printf '%y 0%m %s /%P\n') |
  sed 's/^f /- /' | while read -r t m s p; do
    if [ "$t" = l ]; then echo "$t $m $s $p -> $(readlink "tree$p")"; else echo "$t $m $s $p"; fi
  done | LC_ALL=C sort > lslr.want
same_file lslr.want lslr.out "ls -lR (Rock Ridge)"
# Without Rock Ridge: r-xr-xr-x like Linux isofs' defaults.
dk ls -a joliet.iso -m /dev/sda -l /Dir1 > jl.out
grep -qE '^- 0555 +300000 /Dir1/big.bin$' jl.out || fail "Joliet ls -l: $(cat jl.out)"

# cat: bytes identical, in every name space, through symlinks, deep down.
for img in rr.iso rrj.iso joliet.iso rr.qcow2; do
  dk cat -a "$img" -m /dev/sda /Dir1/big.bin > big.out
  same_file tree/Dir1/big.bin big.out "cat big.bin from $img"
done
dk cat -a plain.iso -m /dev/sda /dir1/big.bin > big.out
same_file tree/Dir1/big.bin big.out "cat big.bin with plain names"
dk cat -a rr.qcow2 -m /dev/sda /link /Dir1/sub/up "${d#tree}/leaf" "/$long" > multi.out
cat tree/Dir1/File.TXT tree/README "$d/leaf" "tree/$long" > multi.want
same_file multi.want multi.out "cat through links and deep directories"
dk cat -a rr.iso -m /dev/sda /Dir1/zero > zero.out
[ ! -s zero.out ] || fail "empty file not empty"

# filesystems: the whole disk (also for the hybrid), label and UUID as blkid.
for img in rr.iso joliet.iso plain.iso hybrid.iso dates.iso; do
  dk filesystems -a "$img" --output=json > fs.json
  label=$(blkid -p -s LABEL -o value "$img"); uuid=$(blkid -p -s UUID -o value "$img")
  python3 - fs.json "$label" "$uuid" "$(stat -c %s "$img")" <<'PY' || fail "$img JSON: $(cat fs.json)"
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d) == 1, d
assert d[0]["device"] == "/dev/sda" and d[0]["type"] == "iso9660", d
assert d[0]["label"] == sys.argv[2] and d[0]["uuid"] == sys.argv[3], (d, sys.argv[2:])
assert d[0]["size"] == int(sys.argv[4]), d
PY
done
[ "$(blkid -p -s UUID -o value dates.iso)" = 2011-01-02-03-04-05-00 ] || fail "dates.iso: unexpected blkid UUID"
dk filesystems -a rr.qcow2 --long > fsl.out
grep -qE '^/dev/sda +filesystem +iso9660 +Test Volume +[0-9]+ +-$' fsl.out || fail "long: $(cat fsl.out)"

# Errors: one line, exit 1.
expect_clean_error "$DISKIT" cat -a rr.iso -m /dev/sda /nothere
grep -q "'/nothere': No such file or directory" "$T/ece.err" || fail "$(cat "$T/ece.err")"
expect_clean_error "$DISKIT" cat -a rr.iso -m /dev/sda /Dir1
# A truncated image: what is cut off is an error naming it, never a crash.
head -c 60000 rr.iso > cut.iso
expect_clean_error "$DISKIT" ls -a cut.iso --format raw -m /dev/sda -R /
grep -q "beyond the end of the device" "$T/ece.err" || fail "truncated: $(cat "$T/ece.err")"

rm cut.iso
[ "$(md5sum ./*.iso rr.qcow2)" = "$sums_before" ] || fail "an image changed"
echo PASS
