#!/bin/bash
# Hostile guest files: symlink loops, directories where files belong,
# garbage release files, an fstab over the size limit, a dpkg status with
# NUL bytes and absurd versions, a /bin/sh that is not ELF. Inspection
# must finish quickly, say what it can, and never crash.
source "$DK_TESTLIB"
require mkfs.ext4

mkdir -p root/etc/hostname root/bin root/var/lib/dpkg
ln -s os-release root/etc/os-release.loop
ln -s os-release.loop root/etc/os-release
head -c 3000 /dev/urandom > root/etc/lsb-release
printf 'Debian\x00\xff\n' > root/etc/debian_version
{ for i in $(seq 1 6000); do echo "LABEL=x$i /m$i ext4 defaults 0 0"; done; } > root/etc/fstab
echo "127.0.0.1 localhost" > root/etc/hosts
printf '#!/bin/sh\n' > root/bin/sh
ln -s ls root/bin/bash; ln -s bash root/bin/ls
{
  printf 'Package: nul\x00pkg\nStatus: install ok installed\nVersion: 99999999999999999999:1-2\n\n'
  printf 'Package: weird\nStatus: install ok installed\nVersion: :-\n\n'
  printf 'Package: ok\nStatus: install ok installed\nVersion: 0.1\nDescription:\n \n\n'
  printf 'Package: long\nStatus: install ok installed\nVersion: 1-'; head -c 200000 /dev/zero | tr '\0' 'a'; printf '\n\n'
  printf ' continuation without a field\n'
} > root/var/lib/dpkg/status
mkfs.ext4 -q -F -d root root.img 24M >/dev/null

set +e
timeout 20 "$DISKIT" inspect --format raw -a root.img > out.xml 2> out.err; rc=$?
set -e
[ "$rc" = 0 ] || fail "inspect exited $rc: $(head -5 out.err)"
grep -qE 'Sanitizer|runtime error' out.err && fail "sanitizer: $(cat out.err)"
grep -q '<name>linux</name>' out.xml || fail "not a Linux root: $(head -c 1500 out.xml)"
grep -q '<distro>debian</distro>' out.xml || fail "debian_version fall-back: $(head -c 1500 out.xml)"
grep -q '<hostname>' out.xml && fail "a directory read as a hostname: $(head -c 1500 out.xml)"
grep -q '<arch>' out.xml && fail "an arch from a script: $(head -c 1500 out.xml)"
# The oversized fstab is skipped: the root alone is mounted at /.
grep -q '<mountpoint dev="/dev/sda">/</mountpoint>' out.xml || fail "mountpoints: $(head -c 1500 out.xml)"
grep -q '<name>ok</name>' out.xml || fail "the sane package is missing: $(head -c 1500 out.xml)"
grep -q '<name>long</name>' out.xml || fail "the long package is missing"
grep -q '<name>weird</name>' out.xml && fail "a version with an empty epoch was listed"
grep -q '<name>nul' out.xml && fail "a package with an absurd epoch was listed"
"$DISKIT" inspect --format raw -a root.img --output=json | python3 -c 'import json,sys; json.load(sys.stdin)' ||
  fail "JSON output does not parse"
echo PASS
