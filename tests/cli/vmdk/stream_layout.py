#!/usr/bin/env python3
"""Walks a streamOptimized VMDK and checks VMware's layout (Virtual Disk
Format 5.0, "Stream-Optimized Compressed Sparse Extents"): header with
gdOffset = GD_AT_END, grains behind grain markers in ascending LBA order,
each grain table behind a GT marker, the grain directory behind a GD
marker, a footer marker, the footer (a header copy with gdOffset pointing
at the directory) and the end-of-stream marker, all sector aligned, every
directory/table entry pointing at the right marker. Prints a summary."""
import struct, sys, zlib

def header(b):
    f = struct.unpack_from("<IIIQQQQIQQQB4sH", b, 0)
    keys = "magic version flags capacity grainSize descOffset descSize numGTEs rgdOffset gdOffset overHead unclean nl compress".split()
    return dict(zip(keys, f))

def main(path):
    data = open(path, "rb").read()
    S = 512
    h = header(data[:S])
    assert h["magic"] == 0x564D444B, "magic"
    assert h["version"] == 3, "version 3"
    assert h["flags"] & (1 << 16) and h["flags"] & (1 << 17), "compressed + markers flags"
    assert h["gdOffset"] == 0xFFFFFFFFFFFFFFFF, "header gdOffset must be GD_AT_END"
    assert h["compress"] == 1, "deflate"
    assert h["nl"] == b"\n \r\n", "newline detection bytes"
    desc = data[h["descOffset"] * S:(h["descOffset"] + h["descSize"]) * S].split(b"\0")[0].decode()
    assert 'createType="streamOptimized"' in desc, "descriptor"
    grain = h["grainSize"] * S
    pos = h["overHead"] * S
    grains, gts, gd_at, last_lba = {}, {}, None, -1
    while True:
        assert pos % S == 0 and pos + S <= len(data), "marker at %d" % pos
        val, size, typ = struct.unpack_from("<QII", data, pos)
        if size:  # grain marker: lba, size, data
            assert val > last_lba, "grains in ascending order"
            last_lba = val
            raw = zlib.decompress(data[pos + 12:pos + 12 + size])
            assert len(raw) == min(grain, h["capacity"] * S - val * S), "grain length"
            grains[pos // S] = val
            pos += (12 + size + S - 1) // S * S
            continue
        if typ == 1:  # grain table
            gts[pos // S + 1] = data[pos + S:pos + S + val * S]
            pos += S + val * S
        elif typ == 2:  # grain directory
            gd_at = pos // S + 1
            gd = struct.unpack_from("<%dI" % (val * S // 4), data, pos + S)
            pos += S + val * S
        elif typ == 3:  # footer
            f = header(data[pos + S:pos + 2 * S])
            assert f["gdOffset"] == gd_at, "footer gdOffset points at the GD"
            assert f["capacity"] == h["capacity"] and f["flags"] == h["flags"], "footer copies the header"
            pos += 2 * S
        elif typ == 0:  # end of stream
            assert val == 0 and pos + S == len(data), "EOS is the last sector"
            break
        else:
            raise AssertionError("unknown marker type %d" % typ)
    ngt = -(-h["capacity"] // (h["grainSize"] * h["numGTEs"]))
    found = 0
    for i in range(ngt):
        if gd[i] == 0:
            continue
        assert gd[i] in gts, "GD entry %d points at a GT marker" % i
        ents = struct.unpack("<%dI" % h["numGTEs"], gts[gd[i]][:h["numGTEs"] * 4])
        for j, e in enumerate(ents):
            if e:
                want = (i * h["numGTEs"] + j) * h["grainSize"]
                assert grains.get(e) == want, "GT entry -> grain marker with lba %d" % want
                found += 1
    assert found == len(grains), "every grain is referenced once"
    print("ok: %d grains, %d grain tables, GD at sector %d" % (len(grains), len(gts), gd_at))

main(sys.argv[1])
