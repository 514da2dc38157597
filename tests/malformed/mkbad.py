#!/usr/bin/env python3
"""Writes hostile qcow2 images for the malformed-image tests.

usage: mkbad.py KIND OUT      (KIND from `mkbad.py list`)

Each image starts as a valid qcow2 made by qemu-img/qemu-io and is then
corrupted in one place, so a reader that checks nothing walks straight into
the bad field. Field offsets follow the qcow2 specification (docs/interop/
qcow2.txt in QEMU): all header fields are big-endian.
"""
import os
import struct
import subprocess
import sys

# Header field offsets (qcow2 spec, "Header").
BACKING_FILE_OFFSET = 8
BACKING_FILE_SIZE = 16
CLUSTER_BITS = 20
SIZE = 24
CRYPT_METHOD = 32
L1_SIZE = 36
L1_TABLE_OFFSET = 40
REFCOUNT_TABLE_OFFSET = 48
REFCOUNT_TABLE_CLUSTERS = 56
NB_SNAPSHOTS = 60
SNAPSHOTS_OFFSET = 64
INCOMPATIBLE_FEATURES = 72
REFCOUNT_ORDER = 96
HEADER_LENGTH = 100

L1E_OFFSET_MASK = 0x00FFFFFFFFFFFE00
L2E_OFFSET_MASK = 0x00FFFFFFFFFFFE00
QCOW_OFLAG_COPIED = 1 << 63
QCOW_OFLAG_COMPRESSED = 1 << 62


def run(*args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)


def make(path, size="8M", opts=None, writes=("write -P 0x5a 0 192k",)):
    run("qemu-img", "create", "-q", "-f", "qcow2", *(["-o", opts] if opts else []), path, size)
    cmd = ["qemu-io", "-f", "qcow2"]
    for w in writes:
        cmd += ["-c", w]
    run(*cmd, path)


def put(path, off, fmt, value):
    with open(path, "r+b") as f:
        f.seek(off)
        f.write(struct.pack(">" + fmt, value))


def get(path, off, fmt):
    with open(path, "rb") as f:
        f.seek(off)
        return struct.unpack(">" + fmt, f.read(struct.calcsize(fmt)))[0]


def l2_offset(path, index=0):
    l1 = get(path, L1_TABLE_OFFSET, "Q")
    return get(path, l1 + 8 * index, "Q") & L1E_OFFSET_MASK


def far(path):
    """A cluster-aligned offset far beyond the end of the file."""
    return (os.path.getsize(path) + (1 << 30)) & ~0xFFFF


def k_l1_table_beyond_eof(p):
    make(p)
    put(p, L1_TABLE_OFFSET, "Q", far(p))


def k_l1_entry_beyond_eof(p):
    make(p)
    l1 = get(p, L1_TABLE_OFFSET, "Q")
    put(p, l1, "Q", far(p) | QCOW_OFLAG_COPIED)


def k_l1_entry_unaligned(p):
    make(p)
    l1 = get(p, L1_TABLE_OFFSET, "Q")
    put(p, l1, "Q", (get(p, l1, "Q") + 512) | QCOW_OFLAG_COPIED)


def k_l2_entry_beyond_eof(p):
    make(p)
    put(p, l2_offset(p) + 8, "Q", far(p) | QCOW_OFLAG_COPIED)


def k_l2_entry_unaligned(p):
    make(p)
    l2 = l2_offset(p)
    put(p, l2, "Q", (get(p, l2, "Q") + 4096) | QCOW_OFLAG_COPIED)


def k_huge_virtual_size(p):
    make(p)
    put(p, SIZE, "Q", (1 << 63) - 512)


def k_huge_l1_size(p):
    make(p)
    put(p, L1_SIZE, "I", 0xFFFFFFF0)


def k_l1_size_too_small(p):
    make(p)
    put(p, SIZE, "Q", 1 << 50)  # needs far more L1 entries than the one there


def k_refcount_table_overlaps_header(p):
    make(p)
    put(p, REFCOUNT_TABLE_OFFSET, "Q", 0)


def k_refcount_table_huge(p):
    make(p)
    put(p, REFCOUNT_TABLE_CLUSTERS, "I", 0x7FFFFFFF)


def k_compressed_beyond_eof(p):
    raw = p + ".src"
    with open(raw, "wb") as f:
        f.write(b"compressible " * 40000)
    run("qemu-img", "convert", "-c", "-O", "qcow2", "-f", "raw", raw, p)
    os.unlink(raw)
    l2 = l2_offset(p)
    entry = get(p, l2, "Q")
    assert entry & QCOW_OFLAG_COMPRESSED, "qemu-img did not compress cluster 0"
    # 64 KiB clusters: the host offset takes the low 62 - (16 - 8) = 54 bits.
    x = 62 - (16 - 8)
    sectors = entry & ~((1 << x) - 1)
    put(p, l2, "Q", sectors | ((1 << 53) + 1234))


def k_compressed_size_past_eof(p):
    raw = p + ".src"
    with open(raw, "wb") as f:
        f.write(b"compressible " * 40000)
    run("qemu-img", "convert", "-c", "-O", "qcow2", "-f", "raw", raw, p)
    os.unlink(raw)
    l2 = l2_offset(p)
    # The last compressed cluster, with the largest sector count the field holds.
    for i in range(7, -1, -1):
        entry = get(p, l2 + 8 * i, "Q")
        if entry & QCOW_OFLAG_COMPRESSED:
            break
    x = 62 - (16 - 8)
    off = entry & ((1 << x) - 1)
    put(p, l2 + 8 * i, "Q", QCOW_OFLAG_COMPRESSED | (((1 << 8) - 1) << x) | off)
    with open(p, "r+b") as f:  # and the file ends right after its offset
        f.truncate(off + 100)


def k_backing_loop(p):
    d = os.path.dirname(os.path.abspath(p))
    other = os.path.join(d, os.path.basename(p) + ".b.qcow2")
    run("qemu-img", "create", "-q", "-f", "qcow2", "-u", "-b", os.path.basename(other),
        "-F", "qcow2", p, "8M")
    run("qemu-img", "create", "-q", "-f", "qcow2", "-u", "-b", os.path.basename(p),
        "-F", "qcow2", other, "8M")


def k_backing_self(p):
    # qemu-img refuses to create this directly: create, then rename.
    tmp = p + ".tmp"
    run("qemu-img", "create", "-q", "-f", "qcow2", "-u", "-b", os.path.basename(p),
        "-F", "qcow2", tmp, "8M")
    os.rename(tmp, p)


def k_backing_name_too_long(p):
    make(p)
    put(p, BACKING_FILE_OFFSET, "Q", 512)
    put(p, BACKING_FILE_SIZE, "I", 0xFFFFFFFF)


def k_backing_name_beyond_eof(p):
    make(p)
    put(p, BACKING_FILE_OFFSET, "Q", far(p))
    put(p, BACKING_FILE_SIZE, "I", 100)


def k_truncated_header(p):
    make(p)
    with open(p, "r+b") as f:
        f.truncate(72)


def k_truncated_l1(p):
    make(p)
    l1 = get(p, L1_TABLE_OFFSET, "Q")
    with open(p, "r+b") as f:
        f.truncate(l1 + 4)


def k_truncated_l2(p):
    make(p)
    l2 = l2_offset(p)
    with open(p, "r+b") as f:
        f.truncate(l2 + 32768)  # half of a 64 KiB L2 table


def k_nb_snapshots_huge(p):
    make(p)
    run("qemu-img", "snapshot", "-c", "s1", p)
    put(p, NB_SNAPSHOTS, "I", 0xFFFFFFFF)


def k_snapshot_table_beyond_eof(p):
    make(p)
    run("qemu-img", "snapshot", "-c", "s1", p)
    put(p, SNAPSHOTS_OFFSET, "Q", far(p))


def k_cluster_bits_30(p):
    make(p)
    put(p, CLUSTER_BITS, "I", 30)


def k_cluster_bits_8(p):
    make(p)
    put(p, CLUSTER_BITS, "I", 8)


def k_refcount_order_7(p):
    make(p)
    put(p, REFCOUNT_ORDER, "I", 7)


def k_unknown_incompatible_feature(p):
    make(p)
    put(p, INCOMPATIBLE_FEATURES, "Q", 1 << 40)


def k_header_length_huge(p):
    make(p)
    put(p, HEADER_LENGTH, "I", 0x7FFFFFFF)


def k_version_4(p):
    make(p)
    put(p, 4, "I", 4)


KINDS = {name[2:]: fn for name, fn in globals().items() if name.startswith("k_")}


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "list":
        print("\n".join(sorted(KINDS)))
        return 0
    if len(sys.argv) != 3 or sys.argv[1] not in KINDS:
        print(__doc__, file=sys.stderr)
        return 2
    KINDS[sys.argv[1]](sys.argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
