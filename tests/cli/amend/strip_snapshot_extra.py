# Rewrites a qcow2 image's snapshot table in place with no extra data per
# snapshot, as QEMU before 1.1 wrote v2 images (the table only shrinks).
import struct
import sys

with open(sys.argv[1], "r+b") as f:
    head = f.read(72)
    nb, off = struct.unpack(">IQ", head[60:72])
    f.seek(off)
    out = b""
    for _ in range(nb):
        fixed = f.read(40)
        id_size, name_size = struct.unpack(">HH", fixed[12:16])
        extra_size = struct.unpack(">I", fixed[36:40])[0]
        f.read(extra_size)
        ident = f.read(id_size)
        name = f.read(name_size)
        pad = (-(40 + extra_size + id_size + name_size)) % 8
        f.read(pad)
        rec = fixed[:36] + struct.pack(">I", 0) + ident + name
        out += rec + b"\0" * ((-len(rec)) % 8)
    f.seek(off)
    f.write(out)
