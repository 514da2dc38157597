#!/bin/bash
# A Debian-like guest built with mkfs.ext4 -d: root, /boot (a grub /boot,
# found through LABEL=) and swap (through UUID=) on an MBR disk in qcow2.
# diskit inspect must print virt-inspector's XML and the JSON exactly,
# the tools without -m must mount what the fstab says, and no byte of the
# image may change.
source "$DK_TESTLIB"
require_qemu; require sfdisk; require mkfs.ext4; require mkswap

case $(uname -m) in
  x86_64) arch=x86_64 ;; aarch64) arch=aarch64 ;; i?86) arch=i386 ;; *) skip "no expected arch for $(uname -m)" ;;
esac
root_uuid=6d1b9a3e-5a4c-4a39-9d3b-0c2a4d6e8f01
boot_uuid=0f9e8d7c-6b5a-4938-8271-605f4e3d2c1b
swap_uuid=a1b2c3d4-e5f6-4789-8abc-def012345678

mkdir -p root/etc root/bin root/usr/bin root/var/lib/dpkg root/boot root/home root/tmp root/proc
cat > root/etc/os-release <<'X'
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
ID=debian
X
echo 12.7 > root/etc/debian_version
printf '# managed by hand\n\ndebian-test\n' > root/etc/hostname
cat > root/etc/fstab <<X
# <file system> <mount point>   <type>  <options>       <dump>  <pass>
UUID=$root_uuid /               ext4    errors=remount-ro 0       1
LABEL=BOOT      /boot           ext4    defaults        0       2
UUID=$swap_uuid none            swap    sw              0       0
proc            /proc           proc    defaults        0       0
tmpfs           /tmp            tmpfs   defaults        0       0
/dev/cdrom      /media/cdrom0   udf,iso9660 user,noauto 0       0
UUID=00000000-dead-beef-0000-000000000000 /home ext4 defaults 0 2
X
echo "127.0.0.1 localhost" > root/etc/hosts
cp /bin/dash root/bin/sh
cat > root/var/lib/dpkg/status <<'X'
Package: bash
Essential: yes
Status: install ok installed
Priority: required
Architecture: amd64
Version: 5.2.15-2+b7
Homepage: https://tiswww.case.edu/php/chet/bash/bashtop.html
Description: GNU Bourne Again SHell
 Bash is an sh-compatible command language interpreter.
 .
 It is the default shell.

Package: removed-pkg
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0-1

Package: broken-pkg
Status: install reinstreq half-installed
Architecture: amd64
Version: 2.0-1

Package: libc6
Status: install ok installed
Multi-Arch: same
Source: glibc
Architecture: amd64
Version: 2.36-9+deb12u7
Description: GNU C Library: Shared libraries

Package: python3-foo
Status: hold ok installed
Source: foo (1.0-1)
Architecture: all
Version: 1:2.0~rc1-3-1

Package: gone
Status: purge ok not-installed
Architecture: amd64

Package: epochy
Status: install ok installed
Architecture: amd64
Version: 2:1.0

Package: adduser
Status: install ok installed
Architecture: all
Version: 3.134
Description: add and remove users and groups
X
mkdir -p boot/grub; echo "set timeout=5" > boot/grub/grub.cfg

truncate -s 48M disk.raw
printf 'label: dos\n,24M,L\n,12M,L\n,,S\n' | sfdisk -q disk.raw
mkfs.ext4 -q -F -L rootfs -U $root_uuid -d root p1.img 24M >/dev/null
mkfs.ext4 -q -F -L BOOT -U $boot_uuid -d boot p2.img 12M >/dev/null
truncate -s 11M p3.img; mkswap -q -U $swap_uuid p3.img >/dev/null
dd if=p1.img of=disk.raw bs=1M seek=1 conv=notrunc status=none
dd if=p2.img of=disk.raw bs=1M seek=25 conv=notrunc status=none
dd if=p3.img of=disk.raw bs=1M seek=37 conv=notrunc status=none
qemu-img convert -O qcow2 disk.raw disk.qcow2
sum_before=$(md5sum disk.qcow2)

cat > want.xml <<X
<?xml version="1.0"?>
<operatingsystems>
  <operatingsystem>
    <root>/dev/sda1</root>
    <name>linux</name>
    <arch>$arch</arch>
    <distro>debian</distro>
    <product_name>12.7</product_name>
    <major_version>12</major_version>
    <minor_version>7</minor_version>
    <package_format>deb</package_format>
    <package_management>apt</package_management>
    <hostname>debian-test</hostname>
    <osinfo>debian12</osinfo>
    <mountpoints>
      <mountpoint dev="/dev/sda1">/</mountpoint>
      <mountpoint dev="/dev/sda2">/boot</mountpoint>
    </mountpoints>
    <filesystems>
      <filesystem dev="/dev/sda1">
        <type>ext4</type>
        <label>rootfs</label>
        <uuid>$root_uuid</uuid>
      </filesystem>
      <filesystem dev="/dev/sda2">
        <type>ext4</type>
        <label>BOOT</label>
        <uuid>$boot_uuid</uuid>
      </filesystem>
      <filesystem dev="/dev/sda3">
        <type>swap</type>
        <uuid>$swap_uuid</uuid>
      </filesystem>
    </filesystems>
    <applications>
      <application>
        <name>adduser</name>
        <version>3.134</version>
        <arch>all</arch>
        <summary>add and remove users and groups</summary>
      </application>
      <application>
        <name>bash</name>
        <version>5.2.15</version>
        <release>2+b7</release>
        <arch>amd64</arch>
        <url>https://tiswww.case.edu/php/chet/bash/bashtop.html</url>
        <summary>GNU Bourne Again SHell</summary>
        <description>Bash is an sh-compatible command language interpreter.
.
It is the default shell.</description>
      </application>
      <application>
        <name>epochy</name>
        <epoch>2</epoch>
        <version>1.0</version>
        <arch>amd64</arch>
      </application>
      <application>
        <name>libc6</name>
        <version>2.36</version>
        <release>9+deb12u7</release>
        <arch>amd64</arch>
        <source_package>glibc</source_package>
        <summary>GNU C Library: Shared libraries</summary>
      </application>
      <application>
        <name>python3-foo</name>
        <epoch>1</epoch>
        <version>2.0~rc1-3</version>
        <release>1</release>
        <arch>all</arch>
        <source_package>foo</source_package>
      </application>
    </applications>
  </operatingsystem>
</operatingsystems>
X
dk inspect -a disk.qcow2 > got.xml
same_file want.xml got.xml "inspect XML"
dk inspect -a disk.qcow2 --output=xml > got2.xml
same_file want.xml got2.xml "inspect --output=xml"

dk inspect -a disk.qcow2 --output=json > got.json
cat > want.json <<X
{"operatingsystems": [{
  "root": "/dev/sda1", "type": "linux", "distro": "debian", "product_name": "12.7",
  "major_version": 12, "minor_version": 7, "arch": "$arch", "hostname": "debian-test",
  "package_format": "deb", "package_management": "apt", "osinfo": "debian12",
  "mountpoints": {"/": "/dev/sda1", "/boot": "/dev/sda2"},
  "filesystems": [
    {"dev": "/dev/sda1", "type": "ext4", "label": "rootfs", "uuid": "$root_uuid"},
    {"dev": "/dev/sda2", "type": "ext4", "label": "BOOT", "uuid": "$boot_uuid"},
    {"dev": "/dev/sda3", "type": "swap", "label": "", "uuid": "$swap_uuid"}],
  "applications": [
    {"name": "adduser", "epoch": 0, "version": "3.134", "release": "", "arch": "all", "url": "",
     "source_package": "", "summary": "add and remove users and groups", "description": ""},
    {"name": "bash", "epoch": 0, "version": "5.2.15", "release": "2+b7", "arch": "amd64",
     "url": "https://tiswww.case.edu/php/chet/bash/bashtop.html", "source_package": "",
     "summary": "GNU Bourne Again SHell",
     "description": "Bash is an sh-compatible command language interpreter.\n.\nIt is the default shell."},
    {"name": "epochy", "epoch": 2, "version": "1.0", "release": "", "arch": "amd64", "url": "",
     "source_package": "", "summary": "", "description": ""},
    {"name": "libc6", "epoch": 0, "version": "2.36", "release": "9+deb12u7", "arch": "amd64", "url": "",
     "source_package": "glibc", "summary": "GNU C Library: Shared libraries", "description": ""},
    {"name": "python3-foo", "epoch": 1, "version": "2.0~rc1-3", "release": "1", "arch": "all", "url": "",
     "source_package": "foo", "summary": "", "description": ""}]
}]}
X
same_json want.json got.json
# Key order as documented.
python3 - got.json <<'PY' || fail "JSON key order: $(head -c 400 got.json)"
import json, sys
os_ = json.load(open(sys.argv[1]))["operatingsystems"][0]
assert list(os_)[:6] == ["root", "type", "distro", "product_name", "major_version", "minor_version"], list(os_)
PY

# --no-applications drops the element, as virt-inspector's does.
dk inspect -a disk.qcow2 --no-applications > noapps.xml
grep -q '<applications' noapps.xml && fail "--no-applications still lists applications"
grep -q '<osinfo>debian12</osinfo>' noapps.xml || fail "--no-applications: $(cat noapps.xml)"

# The tools without -m mount / and /boot as the fstab says (LABEL=BOOT).
dk cat -a disk.qcow2 /boot/grub/grub.cfg /etc/debian_version > cat.out
printf 'set timeout=5\n12.7\n' > cat.want
same_file cat.want cat.out "cat through the inspected mounts"
dk ls -a disk.qcow2 /boot > ls.out
printf 'grub\nlost+found\n' > ls.want
same_file ls.want ls.out "ls /boot"

# A disk with no operating system: virt-inspector's empty document, exit 0.
qemu-img convert -O qcow2 p2.img boot.qcow2
dk inspect -a boot.qcow2 > none.xml
printf '<?xml version="1.0"?>\n<operatingsystems/>\n' > none.want
same_file none.want none.xml "no OS XML"
same_json '{"operatingsystems": []}' "$(dk inspect -a boot.qcow2 --output=json)"
expect_clean_error "$DISKIT" cat -a boot.qcow2 /grub/grub.cfg
grep -q "no operating system was found" "$T/ece.err" || fail "$(cat "$T/ece.err")"

# Two disks: the root disk second, so the guest's /dev/sda names move.
qemu-img create -q -f qcow2 blank.qcow2 1M
dk inspect -a blank.qcow2 -a disk.qcow2 --no-applications > two.xml
grep -q '<root>/dev/sdb1</root>' two.xml || fail "root on the second disk: $(cat two.xml)"
grep -q '<mountpoint dev="/dev/sdb2">/boot</mountpoint>' two.xml || fail "LABEL= across disks: $(cat two.xml)"

expect_clean_error "$DISKIT" inspect -a disk.qcow2 --output=yaml
[ "$(md5sum disk.qcow2)" = "$sum_before" ] || fail "the image changed"
echo PASS
