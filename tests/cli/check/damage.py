#!/usr/bin/env python3
"""Damages qcow2 images in the ways `check` must find (test helper).

usage: damage.py IMAGE KIND
KIND:
  leak        a leaked cluster: refcount 1 on a cluster nothing references
              (appended after the end of the file)
  shared      the second allocated L2 entry points at the first one's cluster
  refzero     the refcount of the first data cluster becomes 0
  copied      OFLAG_COPIED cleared on the first data L2 entry
  l1copied    OFLAG_COPIED cleared on the first L1 entry
  l2eof       the first L1 entry points past the end of the file
  dataeof     the first data L2 entry points past the end of the file
  overlap     the first data L2 entry points at the L1 table's cluster
  refinc      the refcount of the first data cluster becomes 2
"""
import struct
import sys


class Qcow2:
    def __init__(self, path):
        self.f = open(path, "r+b")
        h = self.f.read(112)
        (magic, self.version, _, _, self.cluster_bits, self.size, _, self.l1_size, self.l1_off,
         self.rt_off, self.rt_clusters, _, _) = struct.unpack(">IIQIIQIIQQIIQ", h[:72])
        assert magic == 0x514649FB
        self.cs = 1 << self.cluster_bits
        self.refcount_order = 4
        self.incompat = 0
        if self.version >= 3:
            self.incompat = struct.unpack(">Q", h[72:80])[0]
            self.refcount_order = struct.unpack(">I", h[96:100])[0]
        self.ext_l2 = bool(self.incompat & 16)
        self.esize = 16 if self.ext_l2 else 8
        self.bits = 1 << self.refcount_order

    def u64(self, off, val=None):
        self.f.seek(off)
        if val is None:
            return struct.unpack(">Q", self.f.read(8))[0]
        self.f.write(struct.pack(">Q", val))

    def l1(self, i, val=None):
        return self.u64(self.l1_off + 8 * i, val)

    def data_entries(self):
        """(address of the L2 entry, entry) for each allocated uncompressed data cluster."""
        out = []
        for i in range(self.l1_size):
            l2 = self.l1(i) & 0x00FFFFFFFFFFFE00
            if not l2:
                continue
            for j in range(self.cs // self.esize):
                a = l2 + j * self.esize
                e = self.u64(a)
                if e & (1 << 62) or not e & 0x00FFFFFFFFFFFE00:
                    continue
                out.append((a, e))
        return out

    def refcount(self, cluster, val=None):
        entries = self.cs * 8 // self.bits
        rb = self.u64(self.rt_off + 8 * (cluster // entries)) & ~0x1FF
        assert rb, "no refcount block"
        bit = (cluster % entries) * self.bits
        self.f.seek(rb + bit // 8)
        nbytes = max(1, self.bits // 8)
        raw = int.from_bytes(self.f.read(nbytes), "big")
        if self.bits < 8:
            shift = bit % 8
            mask = ((1 << self.bits) - 1) << shift
            if val is None:
                return (raw & mask) >> shift
            raw = (raw & ~mask) | (val << shift)
        else:
            if val is None:
                return raw
            raw = val
        self.f.seek(rb + bit // 8)
        self.f.write(raw.to_bytes(nbytes, "big"))

    def file_size(self):
        self.f.seek(0, 2)
        return self.f.tell()


def main():
    q = Qcow2(sys.argv[1])
    kind = sys.argv[2]
    data = q.data_entries()
    mask = 0x00FFFFFFFFFFFE00
    if kind == "leak":
        end = (q.file_size() + q.cs - 1) // q.cs
        q.f.truncate((end + 1) * q.cs)
        q.refcount(end, 1)
    elif kind == "shared":
        (a0, e0), (a1, e1) = data[0], data[1]
        q.u64(a1, (e1 & ~mask) | (e0 & mask))
    elif kind == "refzero":
        q.refcount((data[0][1] & mask) // q.cs, 0)
    elif kind == "refinc":
        q.refcount((data[0][1] & mask) // q.cs, 2)
    elif kind == "copied":
        a, e = data[0]
        q.u64(a, e & ~(1 << 63))
    elif kind == "l1copied":
        q.l1(0, q.l1(0) & ~(1 << 63))
    elif kind == "l2eof":
        q.l1(0, (1 << 63) | ((q.file_size() + 16 * q.cs) // q.cs * q.cs))
    elif kind == "dataeof":
        a, e = data[0]
        q.u64(a, (e & ~mask) | ((q.file_size() + 16 * q.cs) // q.cs * q.cs))
    elif kind == "overlap":
        a, e = data[0]
        q.u64(a, (e & ~mask) | (q.l1_off & mask))
    else:
        sys.exit("unknown damage " + kind)
    q.f.close()


if __name__ == "__main__":
    main()
