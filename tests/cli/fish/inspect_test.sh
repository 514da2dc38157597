#!/bin/bash
# Inspection: inspect-os and inspect-get-* on a Debian-like root (the
# product name comes from /etc/debian_version, as libguestfs does it), the
# application list (dpkg: installed packages only, epoch/version/release
# split), and -i mounting root and /srv as the guest's fstab says (with the
# greeting interactive mode prints).
source "$DK_TESTLIB"
extra_tree() {
  printf 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n' \
    > tree/etc/os-release
  echo 12.7 > tree/etc/debian_version
  mkdir -p tree/var/lib/dpkg
  printf '%s\n' 'Package: bash' 'Status: install ok installed' 'Architecture: amd64' 'Version: 5.2.15-2+b2' \
    'Description: GNU Bourne Again SHell' '' 'Package: gone' 'Status: deinstall ok config-files' \
    'Architecture: amd64' 'Version: 1.0-1' '' 'Package: libc6' 'Status: install ok installed' \
    'Architecture: amd64' 'Version: 1:2.36-9' > tree/var/lib/dpkg/status
}
source "$(dirname "$0")/fixture.sh"

fish --ro -a disk.qcow2 > i.out <<'CMDS'
run
inspect-os
inspect-get-roots
inspect-get-type /dev/sda1
inspect-get-distro /dev/sda1
inspect-get-product-name /dev/sda1
inspect-get-major-version /dev/sda1
inspect-get-minor-version /dev/sda1
inspect-get-hostname /dev/sda1
inspect-get-package-format /dev/sda1
inspect-get-mountpoints /dev/sda1
CMDS
golden i <<'EOF2'
/dev/sda1
/dev/sda1
linux
debian
12.7
12
7
myhost
deb
/: /dev/sda1
/srv: /dev/sda2
EOF2
fish --ro -a disk.qcow2 -i inspect-get-package-management /dev/sda1 : inspect-get-arch /dev/sda1 > pm.out
grep -qx apt pm.out || fail "package management: $(cat pm.out)"

fish --ro -a disk.qcow2 -i inspect-list-applications2 /dev/sda1 > apps.out
grep -c '^\[[0-9]\] = {$' apps.out | grep -qx 2 || fail "two installed packages expected: $(cat apps.out)"
sed -n '1,6p' apps.out > apps1.out
golden apps1 <<'EOF2'
[0] = {
  app2_name: bash
  app2_display_name: 
  app2_epoch: 0
  app2_version: 5.2.15
  app2_release: 2+b2
EOF2
grep -qx '  app2_epoch: 1' apps.out && grep -qx '  app2_version: 2.36' apps.out || fail "libc6: $(cat apps.out)"
[ "$(grep -c '^  app2_' apps.out)" = 34 ] || fail "17 fields per application: $(cat apps.out)"

# -i mounts / and /srv; mountpoints shows them.
fish --ro -a disk.qcow2 -i mountpoints : cat /srv/sub/note > mi.out
printf '/dev/sda1: /\n/dev/sda2: /srv\nsecond fs\n\n' > mi.want
same_file mi.want mi.out "-i mounts"
# A disk without an operating system: -i fails, inspect-os prints nothing.
capture none fish --ro --format raw -a p2.img -i
[ "$(cat none.rc)" = 1 ] && grep -q 'no operating system was found on this disk' none.err || fail "-i without an OS: $(cat none.err)"
fish --ro --format raw -a p2.img run : inspect-os > none2.out
[ ! -s none2.out ] || fail "inspect-os on a data disk: $(cat none2.out)"
