#!/bin/bash
# A real hybrid ISO made by another project: Debian's grub-rescue-pc ships
# grub-rescue-cdrom.iso (xorriso, El Torito, an MBR whose partition starts
# at sector 1). The whole disk is the file system; its listing and bytes
# must match bsdtar's, its label and UUID blkid's.
source "$DK_TESTLIB"
iso=/usr/lib/grub-rescue/grub-rescue-cdrom.iso
[ -f "$iso" ] || skip "$iso is missing (Debian package grub-rescue-pc)"
require bsdtar; require blkid

dk filesystems -a "$iso" > fs.out
echo /dev/sda > fs.want
same_file fs.want fs.out "filesystems of the hybrid ISO"
dk filesystems -a "$iso" --output=json > fs.json
python3 - fs.json "$(blkid -p -s LABEL -o value "$iso")" "$(blkid -p -s UUID -o value "$iso")" <<'PY' ||
import json, sys
d = json.load(open(sys.argv[1]))
assert d[0]["type"] == "iso9660" and d[0]["label"] == sys.argv[2] and d[0]["uuid"] == sys.argv[3], d
PY
  fail "filesystems JSON: $(cat fs.json)"

dk ls -a "$iso" -m /dev/sda -R / | LC_ALL=C sort > ls.out
bsdtar -tf "$iso" | grep -v '^\.$' | sed 's|/$||; s|^|/|' | LC_ALL=C sort > ls.want
same_file ls.want ls.out "ls -R vs bsdtar"
dk ls -a "$iso" -m /dev/sda / > top.out
printf 'boot\nboot.catalog\n' > top.want
same_file top.want top.out "ls /"

# Every regular file's bytes, compared with bsdtar's extraction.
mkdir x && bsdtar -xf "$iso" -C x
n=0
while read -r f; do
  dk cat -a "$iso" -m /dev/sda "$f" > one.out
  same_file "x$f" one.out "cat $f"
  n=$((n + 1))
  [ "$n" -lt 40 ] || break   # a sample keeps the test fast
done < <(cd x && find . -type f -size +0 | sed 's|^\.||' | LC_ALL=C sort)
[ "$n" -gt 10 ] || fail "only $n files compared"
echo PASS
