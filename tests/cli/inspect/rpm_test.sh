#!/bin/bash
# A Fedora-like guest (os-release, /usr/bin/dnf, usr-merged /bin) whose
# sqlite rpmdb was made by the host's rpm and rpmbuild (Debian package
# rpm): diskit inspect reads the header blobs itself and must list what
# `rpm -qa` lists, with epochs, URLs and summaries.
source "$DK_TESTLIB"
require_qemu; require mkfs.ext4; require rpm; require rpmbuild

case $(uname -m) in
  x86_64) arch=x86_64 ;; aarch64) arch=aarch64 ;; *) skip "no expected arch for $(uname -m)" ;;
esac
mkdir -p top db root/etc root/usr/bin root/var/lib
ln -s usr/bin root/bin
cp /bin/dash root/usr/bin/bash
printf '#!/bin/sh\n' > root/usr/bin/dnf
cat > root/etc/os-release <<'X'
NAME="Fedora Linux"
VERSION="39 (Container Image)"
ID=fedora
VERSION_ID=39
PRETTY_NAME="Fedora Linux 39 (Container Image)"
X
echo "Fedora release 39 (Thirty Nine)" > root/etc/redhat-release
echo "LABEL=fedroot / ext4 defaults 0 0" > root/etc/fstab
echo fedora.example > root/etc/hostname

spec() {  # spec NAME VERSION RELEASE EPOCH ARCH URL
  {
    echo "Name: $1"; echo "Version: $2"; echo "Release: $3"
    [ -n "$4" ] && echo "Epoch: $4"
    echo "Summary: The $1 test package"; echo "License: MIT"
    [ -n "$6" ] && echo "URL: $6"
    echo "BuildArch: $5"
    printf '%%description\nFirst line of %s.\nSecond line.\n%%files\n' "$1"
  } > "$1.spec"
  rpmbuild --quiet -bb --define "_topdir $T/top" --define "_build_id_links none" "$1.spec" >/dev/null 2>&1 ||
    skip "rpmbuild cannot build a test package here"
}
spec zlib-ng 2.1.6 1.fc39 "" noarch https://github.com/zlib-ng/zlib-ng
spec bash 5.2.26 1.fc39 2 noarch https://www.gnu.org/software/bash
spec aaa-first 1.0 0.1.rc1.fc39 "" noarch ""
rpm --dbpath "$T/db" --initdb
rpm --dbpath "$T/db" -i --nodeps --justdb --noscripts --ignorearch top/RPMS/noarch/*.rpm 2>/dev/null
[ -f db/rpmdb.sqlite ] || skip "this rpm does not make sqlite databases"
mkdir -p root/var/lib/rpm && cp db/rpmdb.sqlite root/var/lib/rpm/
mkfs.ext4 -q -F -L fedroot -U 3b1c2d4e-0000-4000-8000-00000000f039 -d root root.img 24M >/dev/null
qemu-img convert -O qcow2 root.img disk.qcow2
sum_before=$(md5sum disk.qcow2)

cat > want.xml <<X
<?xml version="1.0"?>
<operatingsystems>
  <operatingsystem>
    <root>/dev/sda</root>
    <name>linux</name>
    <arch>$arch</arch>
    <distro>fedora</distro>
    <product_name>Fedora Linux 39 (Container Image)</product_name>
    <major_version>39</major_version>
    <minor_version>0</minor_version>
    <package_format>rpm</package_format>
    <package_management>dnf</package_management>
    <hostname>fedora.example</hostname>
    <osinfo>fedora39</osinfo>
    <mountpoints>
      <mountpoint dev="/dev/sda">/</mountpoint>
    </mountpoints>
    <filesystems>
      <filesystem dev="/dev/sda">
        <type>ext4</type>
        <label>fedroot</label>
        <uuid>3b1c2d4e-0000-4000-8000-00000000f039</uuid>
      </filesystem>
    </filesystems>
    <applications>
      <application>
        <name>aaa-first</name>
        <version>1.0</version>
        <release>0.1.rc1.fc39</release>
        <arch>noarch</arch>
        <url>(none)</url>
        <summary>The aaa-first test package</summary>
        <description>First line of aaa-first.
Second line.</description>
      </application>
      <application>
        <name>bash</name>
        <epoch>2</epoch>
        <version>5.2.26</version>
        <release>1.fc39</release>
        <arch>noarch</arch>
        <url>https://www.gnu.org/software/bash</url>
        <summary>The bash test package</summary>
        <description>First line of bash.
Second line.</description>
      </application>
      <application>
        <name>zlib-ng</name>
        <version>2.1.6</version>
        <release>1.fc39</release>
        <arch>noarch</arch>
        <url>https://github.com/zlib-ng/zlib-ng</url>
        <summary>The zlib-ng test package</summary>
        <description>First line of zlib-ng.
Second line.</description>
      </application>
    </applications>
  </operatingsystem>
</operatingsystems>
X
dk inspect -a disk.qcow2 > got.xml
same_file want.xml got.xml "inspect XML of the rpm guest"

# The same list as the host's rpm reads from that database.
rpm --dbpath "$T/db" -qa --qf '%{NAME} %{EPOCHNUM} %{VERSION} %{RELEASE} %{ARCH}\n' | LC_ALL=C sort > rpm.want
dk inspect -a disk.qcow2 --output=json | python3 -c '
import json, sys
for a in json.load(sys.stdin)["operatingsystems"][0]["applications"]:
    print(a["name"], a["epoch"], a["version"], a["release"], a["arch"])' | LC_ALL=C sort > rpm.got
same_file rpm.want rpm.got "applications vs rpm -qa"

# A BerkeleyDB-era guest: said clearly, the rest still inspected.
rm root/var/lib/rpm/rpmdb.sqlite; head -c 8192 /dev/zero > root/var/lib/rpm/Packages
mkfs.ext4 -q -F -L fedroot -d root bdb.img 24M >/dev/null
dk inspect --format raw -a bdb.img > bdb.xml 2> bdb.err || fail "BerkeleyDB guest: $(cat bdb.err)"
grep -q "BerkeleyDB rpm databases are not supported" bdb.err || fail "no BerkeleyDB message: $(cat bdb.err)"
grep -q '<applications/>' bdb.xml || fail "BerkeleyDB guest applications: $(cat bdb.xml)"

[ "$(md5sum disk.qcow2)" = "$sum_before" ] || fail "the image changed"
echo PASS
