#!/bin/bash
# diskit-agent --stdio: the protocol without a VM. Requests, an unknown op,
# malformed frames and JSON (the agent answers and keeps serving), exec,
# and a 20 MiB download stream of a file-backed disk.
source "$DK_TESTLIB"
AGENT=$(dirname "$DISKIT")/diskit-agent
[ -x "$AGENT" ] || skip "diskit-agent is not built"
require python3

head -c 20971520 /dev/urandom > disk.img
python3 - "$AGENT" "$T/disk.img" <<'PY'
import hashlib, json, struct, subprocess, sys
agent, img = sys.argv[1], sys.argv[2]
p = subprocess.Popen([agent, "--stdio", "--device", "sda=" + img], stdin=subprocess.PIPE, stdout=subprocess.PIPE)

def send_raw(b):
    p.stdin.write(b); p.stdin.flush()

def send(msg):
    body = b"J" + json.dumps(msg).encode()
    send_raw(struct.pack(">I", len(body)) + body)

def frame():
    hdr = p.stdout.read(4)
    assert len(hdr) == 4, "agent closed the channel"
    n, = struct.unpack(">I", hdr)
    body = p.stdout.read(n)
    if body[:1] == b"J":
        return ("J", json.loads(body[1:]))
    assert body[:1] == b"D", body[:20]
    return ("D", struct.unpack(">Q", body[1:9])[0], body[9:])

def reply(data=None):
    while True:
        f = frame()
        if f[0] == "D":
            data.append(f[2]); continue
        if "progress" in f[1]: continue
        return f[1]

def fail(why):
    print("FAIL:", why, file=sys.stderr); sys.exit(1)

send({"id": 1, "op": "ping"})
r = reply()
if r != {"id": 1, "result": {"pong": True}}: fail("ping: %r" % r)

send({"id": 2, "op": "no-such-op", "args": {}})
r = reply()
if r.get("id") != 2 or r["error"]["errno"] != 38 or "unknown op" not in r["error"]["message"]: fail("unknown op: %r" % r)

send_raw(struct.pack(">I", 6) + b"J{oops")
r = reply()
if r.get("id") is not None or r["error"]["errno"] != 22: fail("malformed JSON: %r" % r)
send_raw(struct.pack(">I", 3) + b"Zzz")
r = reply()
if "unknown frame kind" not in r["error"]["message"]: fail("bad kind: %r" % r)
send({"id": 3, "op": 5})
r = reply()
if r.get("id") != 3 or r["error"]["errno"] != 22: fail("op not a string: %r" % r)
send({"id": 4, "op": "exec", "args": {"argv": 7}})
r = reply()
if r["error"]["errno"] != 22: fail("bad exec args: %r" % r)

send({"id": 5, "op": "exec", "args": {"argv": ["sh", "-c", "cat; echo err >&2; exit 3"], "stdin": "hello"}})
r = reply()
if r.get("result") != {"status": 3, "stdout": "hello", "stderr": "err\n"}: fail("exec: %r" % r)
send({"id": 6, "op": "exec", "args": {"argv": ["/nonexistent/tool"]}})
r = reply()
if r["error"]["errno"] != 2: fail("exec of a missing tool: %r" % r)

send({"id": 7, "op": "list-devices"})
r = reply()
if r.get("result") != ["/dev/sda"]: fail("list-devices: %r" % r)

chunks = []
send({"id": 8, "op": "download", "args": {"device": "/dev/sda"}})
r = reply(chunks)
got = b"".join(chunks)
want = open(img, "rb").read()
if r.get("result", {}).get("bytes") != len(want) or hashlib.sha256(got).digest() != hashlib.sha256(want).digest():
    fail("download: %r, %d bytes" % (r, len(got)))

# An upload stream: two chunks and the end marker.
send({"id": 9, "op": "upload", "args": {"device": "/dev/sda", "offset": 4096}, "upload": True})
for part in (b"A" * 100, b"B" * 50, b""):
    body = b"D" + struct.pack(">Q", 9) + part
    send_raw(struct.pack(">I", len(body)) + body)
r = reply()
if r.get("result", {}).get("bytes") != 150: fail("upload: %r" % r)
with open(img, "rb") as f:
    f.seek(4096)
    if f.read(150) != b"A" * 100 + b"B" * 50: fail("upload did not land")

send({"id": 10, "op": "ping"})
if reply().get("result") != {"pong": True}: fail("agent did not survive")
send({"id": 11, "op": "shutdown"})
if reply() != {"id": 11, "result": None}: fail("shutdown")
if p.wait(timeout=10) != 0: fail("agent exit status %d" % p.returncode)
PY
echo OK
