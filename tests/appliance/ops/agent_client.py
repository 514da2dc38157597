#!/usr/bin/env python3
"""Drives diskit-agent in host mode for the op tests.

Usage: agent_client.py AGENT [--device sdX=FILE]... < requests

Each input line is "OP JSON-ARGS", optionally followed by " @@ TEXT" to
send TEXT as the request's upload stream. For each, prints the download
stream (if any) as "DATA <text>", then one line: the result as JSON, or
"ERROR <errno> <message>". Speaks the agent's framing
(appliance/proto/frame.h): a big-endian u32 length, then 'J' and JSON text.
"""
import json
import struct
import subprocess
import sys


def read_exact(f, n):
    buf = b""
    while len(buf) < n:
        chunk = f.read(n - len(buf))
        if not chunk:
            raise EOFError("the agent closed its output")
        buf += chunk
    return buf


def main():
    agent = sys.argv[1]
    args = [agent, "--stdio"] + sys.argv[2:]
    p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    next_id = 1
    for line in sys.stdin:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        op, _, rest = line.partition(" ")
        rest, sep, upload = rest.partition(" @@ ")
        req = {"id": next_id, "op": op, "args": json.loads(rest) if rest else {}}
        if sep:
            req["upload"] = True
        payload = b"J" + json.dumps(req).encode()
        p.stdin.write(struct.pack(">I", len(payload)) + payload)
        if sep:
            for chunk in (upload.encode(), b""):
                data = b"D" + struct.pack(">Q", next_id) + chunk
                p.stdin.write(struct.pack(">I", len(data)) + data)
        p.stdin.flush()
        download = b""
        while True:
            (n,) = struct.unpack(">I", read_exact(p.stdout, 4))
            body = read_exact(p.stdout, n)
            if body[:1] == b"D":
                download += body[9:]
                continue
            if body[:1] != b"J":
                continue
            msg = json.loads(body[1:])
            if msg.get("id") != next_id or "progress" in msg:
                continue
            if download:
                print("DATA " + download.decode(errors="replace"), flush=True)
            if "error" in msg:
                e = msg["error"]
                print("ERROR %s %s" % (e.get("errno"), e.get("message")), flush=True)
            else:
                print(json.dumps(msg.get("result"), sort_keys=True), flush=True)
            break
        next_id += 1
    p.stdin.close()
    sys.exit(p.wait())


if __name__ == "__main__":
    main()
