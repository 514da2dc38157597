# Sourced by tests/cli/guest/*_test.sh after lib.sh: builds a small ext4
# guest (mkfs.ext4 -d) in an MBR disk wrapped in qcow2, and a listing of a
# tree with types, modes, sizes, mtimes and link targets to compare trees.
require_qemu; require sfdisk; require mkfs.ext4; require python3

# make_tree DIR: files, an empty file, a sparse file, modes, symlinks
# (relative, absolute, dangling), a hard link, nested directories, a space.
make_tree() {
  local d=$1
  mkdir -p "$d/etc" "$d/usr/bin" "$d/home/user/my docs" "$d/var/empty" "$d/deep/a/b/c"
  echo "root:x:0:0:root:/root:/bin/bash" > "$d/etc/passwd"
  printf 'LABEL=root / ext4 defaults 0 1\n' > "$d/etc/fstab"
  echo guest > "$d/etc/hostname"
  ln -s usr/bin "$d/bin"
  ln -s ../../etc/passwd "$d/home/user/pw"
  ln -s /etc/hostname "$d/etc/hn_abs"
  ln -s /nowhere "$d/etc/dangling"
  head -c 200000 /dev/urandom > "$d/usr/bin/prog"; chmod 4755 "$d/usr/bin/prog"
  ln "$d/usr/bin/prog" "$d/usr/bin/prog2"
  echo "hello world" > "$d/home/user/my docs/a file.txt"; chmod 600 "$d/home/user/my docs/a file.txt"
  : > "$d/var/empty/zero"
  truncate -s 3M "$d/var/sparse"; printf 'end' >> "$d/var/sparse"
  echo deep > "$d/deep/a/b/c/leaf"; chmod 700 "$d/deep/a"
  for i in $(seq 1 40); do echo "$i" > "$d/var/f$i"; done
  touch -h -d '2021-03-04 05:06:07' "$d/etc/hn_abs"
  find "$d" -mindepth 1 ! -type l -exec touch -d '2022-01-02 03:04:05.5' {} +
  touch -d '2020-05-06 07:08:09' "$d/etc/passwd"
}

# listing DIR: one line per entry below DIR: path type mode size mtime target
# (mtime in whole seconds: tar keeps no more). Directories have no size.
listing() {
  python3 - "$1" <<'PY'
import os, stat, sys
root = sys.argv[1]
for dp, dns, fns in os.walk(root):
    dns.sort()
    for n in sorted(dns + fns):
        p = os.path.join(dp, n); st = os.lstat(p); rel = os.path.relpath(p, root)
        if rel.startswith("lost+found"):
            continue
        t = "l" if stat.S_ISLNK(st.st_mode) else "d" if stat.S_ISDIR(st.st_mode) else "f"
        size = "-" if t == "d" else st.st_size
        tgt = os.readlink(p) if t == "l" else ""
        mode = "-" if t == "l" else oct(st.st_mode & 0o7777)
        print(rel, t, mode, size, int(st.st_mtime), tgt)
PY
}

# make_guest TREE IMG.qcow2: a 64 MiB MBR disk, partition 1 ext4 (label root) from TREE.
make_guest() {
  truncate -s 64M "$T/disk.raw"
  printf 'label: dos\n,40M,L\n' | sfdisk -q "$T/disk.raw"
  mkfs.ext4 -q -F -L root -E root_owner=0:0 -d "$1" "$T/p1.img" 40M
  dd if="$T/p1.img" of="$T/disk.raw" bs=1M seek=1 conv=notrunc status=none
  qemu-img convert -O qcow2 "$T/disk.raw" "$2"
  rm -f "$T/disk.raw" "$T/p1.img"
}

# guest_fsck IMG.qcow2: e2fsck -fn finds partition 1 clean.
guest_fsck() {
  qemu-img convert -O raw "$1" "$T/fsck.raw"
  dd if="$T/fsck.raw" of="$T/fsck.p1" bs=1M skip=1 count=40 status=none
  e2fsck -fn "$T/fsck.p1" > "$T/fsck.out" 2>&1 || { cat "$T/fsck.out" >&2; fail "e2fsck -fn found errors in $1"; }
}
