# Sourced by tests/cli/fish/*_test.sh after lib.sh: builds disk.qcow2, an
# MBR disk with two ext4 file systems made by mkfs.ext4 -d:
#   /dev/sda1 (16 MiB, label rootfs): a small Linux root (fstab mounts sda2 on /srv)
#   /dev/sda2 (8 MiB, label data):   sub/note
# and fish(), which runs `diskit fish` with the arguments given.
require_qemu; require sfdisk; require mkfs.ext4

mkdir -p tree/etc tree/usr/bin tree/srv tree/home/user tree/var/empty
printf 'myhost\n' > tree/etc/hostname
printf 'root:x:0:0:root:/root:/bin/bash\nuser:x:1000:1000::/home/user:/bin/sh\n' > tree/etc/passwd
printf '/dev/sda1 / ext4 defaults 0 1\nLABEL=data /srv ext4 defaults 0 2\n' > tree/etc/fstab
printf 'line1\nline2\nline3\n' > tree/etc/three
seq 1 20 | sed 's/^/n/' > tree/etc/twenty
printf 'hello world\n' > "tree/home/user/a file.txt"
printf 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\n' > tree/etc/alpha
ln -s usr/bin tree/bin
ln -s /etc/hostname tree/etc/hn
head -c 5000 /dev/zero > tree/var/zeros
chmod 0600 tree/etc/three
touch -d '2020-01-02 03:04:05 UTC' tree/etc/three tree/etc/alpha
mkdir -p data/sub; printf 'second fs\n' > data/sub/note
# A test may add files first (extra_tree is called with the tree built).
if declare -F extra_tree >/dev/null; then extra_tree; fi

truncate -s 32M disk.raw
printf 'label: dos\n,16M,L\n,8M,L\n' | sfdisk -q disk.raw
mkfs.ext4 -q -F -L rootfs -E root_owner=0:0 -d tree p1.img 16M >/dev/null
mkfs.ext4 -q -F -L data -d data p2.img 8M >/dev/null
dd if=p1.img of=disk.raw bs=1M seek=1 conv=notrunc status=none
dd if=p2.img of=disk.raw bs=1M seek=17 conv=notrunc status=none
qemu-img convert -O qcow2 disk.raw disk.qcow2
rm -f disk.raw  # p1.img and p2.img stay for debugfs

fish() { "$DISKIT" fish "$@"; }

# golden NAME: compares NAME.out with the expected text on stdin.
golden() {
  cat > "$1.want"
  same_file "$1.want" "$1.out" "$1"
}
