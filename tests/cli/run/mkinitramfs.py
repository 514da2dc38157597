#!/usr/bin/env python3
"""Builds a tiny test initramfs (cpio newc, uncompressed) for diskit run's
boot test: busybox-static as /bin/busybox, the named kernel modules with
their dependencies from modules.dep (decompressed if .ko.xz/.ko.zst is not
supported), and INIT as /init. The modules are listed in load order in
/modules so /init can insmod them one by one.

usage: mkinitramfs.py OUT INIT KVER MODULE...   (MODULE: e.g. virtio_blk)
"""
import lzma
import os
import stat
import sys


def deps_order(kver, names):
    root = f"/lib/modules/{kver}"
    dep = {}
    with open(f"{root}/modules.dep") as f:
        for line in f:
            mod, _, rest = line.partition(":")
            dep[mod] = rest.split()
    by_name = {}
    for mod in dep:
        base = os.path.basename(mod).split(".ko")[0].replace("-", "_")
        by_name[base] = mod
    order = []

    def visit(mod):
        if mod in order:
            return
        for d in reversed(dep.get(mod, [])):  # modules.dep lists deepest last
            visit(d)
        order.append(mod)

    for n in names:
        if n not in by_name:
            sys.exit(f"mkinitramfs: module {n} not found in {root}/modules.dep")
        visit(by_name[n])
    return [(m, f"{root}/{m}") for m in order]


def read_module(path):
    data = open(path, "rb").read()
    if path.endswith(".xz"):
        data = lzma.decompress(data)
    elif path.endswith(".zst"):
        import subprocess
        data = subprocess.run(["zstd", "-dc", path], check=True, capture_output=True).stdout
    return data


class Cpio:
    def __init__(self, out):
        self.out = out
        self.ino = 1

    def entry(self, name, mode, data=b"", rdev=(0, 0)):
        name_b = name.encode() + b"\0"
        hdr = "070701" + "".join(f"{v:08x}" for v in [
            self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name_b), 0])
        self.ino += 1
        self.out.write(hdr.encode() + name_b)
        self.pad()
        self.out.write(data)
        self.pad()

    def pad(self):
        n = (-self.out.tell()) % 4
        self.out.write(b"\0" * n)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    out, init, kver, mods = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    busybox = "/bin/busybox"
    with open(out, "wb") as f:
        c = Cpio(f)
        for d in ["bin", "dev", "proc", "sys", "lib", "lib/modules"]:
            c.entry(d, stat.S_IFDIR | 0o755)
        c.entry("dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1))  # the kernel opens it for /init
        c.entry("bin/busybox", stat.S_IFREG | 0o755, open(busybox, "rb").read())
        c.entry("bin/sh", stat.S_IFLNK | 0o777, b"busybox")
        c.entry("init", stat.S_IFREG | 0o755, open(init, "rb").read())
        names = []
        for rel, path in deps_order(kver, mods):
            base = os.path.basename(rel).split(".ko")[0] + ".ko"
            c.entry(f"lib/modules/{base}", stat.S_IFREG | 0o644, read_module(path))
            names.append(base)
        c.entry("modules", stat.S_IFREG | 0o644, ("\n".join(names) + "\n").encode())
        c.entry("TRAILER!!!", 0)


if __name__ == "__main__":
    main()
