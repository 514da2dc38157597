#!/usr/bin/env python3
"""A tiny NBD client for the diskit serve tests: it sends what real clients
never do (garbage magic, huge lengths, out-of-range offsets, unknown
options) and checks the server answers with an error or closes, never
hangs. Usage: nbd_client.py SOCKET CHECK..."""
import socket
import struct
import sys

NBDMAGIC, IHAVEOPT, REPLY_MAGIC = 0x4E42444D41474943, 0x49484156454F5054, 0x3E889045565A9
REQ_MAGIC, SIMPLE_MAGIC, STRUCT_MAGIC = 0x25609513, 0x67446698, 0x668E33EF
OPT_EXPORT_NAME, OPT_ABORT, OPT_LIST, OPT_GO, OPT_STRUCTURED, OPT_SET_META = 1, 2, 3, 7, 8, 10
REP_ACK, REP_INFO, REP_META = 1, 3, 4
ERR_UNSUP, ERR_INVALID, ERR_UNKNOWN = 0x80000001, 0x80000003, 0x80000006
CMD_READ, CMD_WRITE, CMD_DISC, CMD_BLOCK_STATUS = 0, 1, 2, 7
EPERM, EINVAL, ENOSPC = 1, 22, 28


class Closed(Exception):
    pass


class Conn:
    def __init__(self, path, timeout=5):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(timeout)
        self.s.connect(path)

    def recv(self, n):
        b = b""
        while len(b) < n:
            c = self.s.recv(n - len(b))
            if not c:
                raise Closed()
            b += c
        return b

    def closed(self):
        """True when the server closes the connection (within the timeout)."""
        try:
            while self.s.recv(65536):
                pass
            return True
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def greet(self, cflags=3):
        magic, opt, hflags = struct.unpack(">QQH", self.recv(18))
        assert magic == NBDMAGIC and opt == IHAVEOPT and hflags == 3, (magic, opt, hflags)
        self.s.sendall(struct.pack(">I", cflags))

    def option(self, opt, data=b""):
        self.s.sendall(struct.pack(">QII", IHAVEOPT, opt, len(data)) + data)

    def reply(self):
        magic, opt, typ, ln = struct.unpack(">QIII", self.recv(20))
        assert magic == REPLY_MAGIC, hex(magic)
        return opt, typ, self.recv(ln)

    def go(self, name=b"", structured=False, meta=False):
        if structured:
            self.option(OPT_STRUCTURED)
            assert self.reply()[1] == REP_ACK
        if meta:
            q = b"base:allocation"
            self.option(OPT_SET_META, struct.pack(">I", len(name)) + name +
                        struct.pack(">II", 1, len(q)) + q)
            assert self.reply()[1] == REP_META
            assert self.reply()[1] == REP_ACK
        self.option(OPT_GO, struct.pack(">I", len(name)) + name + struct.pack(">H", 0))
        size = None
        while True:
            _, typ, data = self.reply()
            if typ == REP_ACK:
                return size
            assert typ == REP_INFO, hex(typ)
            if struct.unpack(">H", data[:2])[0] == 0:
                size, flags = struct.unpack(">QH", data[2:12])

    def request(self, cmd, off, length, flags=0, payload=b"", cookie=7):
        self.s.sendall(struct.pack(">IHHQQI", REQ_MAGIC, flags, cmd, cookie, off, length) + payload)

    def simple(self):
        magic, err, cookie = struct.unpack(">IIQ", self.recv(16))
        assert magic == SIMPLE_MAGIC, hex(magic)
        return err

    def chunks(self):
        """Structured reply chunks up to DONE: [(type, payload)]."""
        out = []
        while True:
            magic, flags, typ, cookie, ln = struct.unpack(">IHHQI", self.recv(20))
            assert magic == STRUCT_MAGIC, hex(magic)
            out.append((typ, self.recv(ln)))
            if flags & 1:
                return out


def expect_closed(c, what):
    assert c.closed(), what + ": the server did not close the connection"


def check_garbage(path):
    c = Conn(path); c.greet(); c.s.sendall(b"\xde\xad\xbe\xef" * 4)
    expect_closed(c, "garbage option magic")
    c = Conn(path); c.greet(cflags=0xFFFFFFFF)
    expect_closed(c, "unknown client flags")
    c = Conn(path); c.greet(); c.s.sendall(struct.pack(">QII", IHAVEOPT, 1234, 0xFFFFFFFF))
    expect_closed(c, "4 GiB option")
    c = Conn(path); c.greet(); c.option(OPT_EXPORT_NAME, b"no-such-export")
    expect_closed(c, "EXPORT_NAME of a missing export")
    c = Conn(path); c.greet(); c.s.sendall(b"\0\0")
    c.s.shutdown(socket.SHUT_WR)
    expect_closed(c, "truncated option header")


def check_options(path):
    c = Conn(path); c.greet()
    c.option(0x1234, b"junk")
    assert c.reply()[1] == ERR_UNSUP, "unknown option"
    c.option(OPT_GO, struct.pack(">I", 0xFFFFFFF0) + b"x")
    assert c.reply()[1] == ERR_INVALID, "GO with a huge name length"
    c.option(OPT_GO, struct.pack(">I", 4) + b"nope" + struct.pack(">H", 0))
    assert c.reply()[1] == ERR_UNKNOWN, "GO of a missing export"
    c.option(OPT_SET_META, struct.pack(">II", 0, 0))
    assert c.reply()[1] == ERR_INVALID, "SET_META_CONTEXT before STRUCTURED_REPLY"
    c.option(OPT_LIST, b"x")
    assert c.reply()[1] == ERR_INVALID, "LIST with data"
    c.option(OPT_STRUCTURED, b"x")
    assert c.reply()[1] == ERR_INVALID, "STRUCTURED_REPLY with data"
    c.option(OPT_ABORT)
    assert c.reply()[1] == REP_ACK, "ABORT"
    expect_closed(c, "after ABORT")


def check_requests(path):
    c = Conn(path); c.greet(); size = c.go()
    c.request(CMD_READ, size, 512)
    assert c.simple() == EINVAL, "read past the end"
    c.request(CMD_READ, 2**64 - 1, 2)
    assert c.simple() == EINVAL, "read with a wrapping offset"
    c.request(CMD_READ, 0, 0xFFFFFFFF)
    assert c.simple() == EINVAL, "4 GiB read"
    c.request(99, 0, 0)
    assert c.simple() == EINVAL, "unknown command"
    c.request(CMD_BLOCK_STATUS, 0, 512)
    assert c.simple() == EINVAL, "block status without a meta context"
    c.request(CMD_WRITE, size - 256, 512, payload=b"\0" * 512)
    assert c.simple() == ENOSPC, "write past the end"
    c.request(CMD_READ, 0, 512, flags=0x8000)
    assert c.simple() == EINVAL, "unknown flag"
    c.request(CMD_READ, 0, 4096)
    assert c.simple() == 0; c.recv(4096)
    c.request(CMD_WRITE, 0, 0xFFFFFFFF)
    expect_closed(c, "4 GiB write")
    c = Conn(path); c.greet(); c.go()
    c.s.sendall(b"\x11" * 28)
    expect_closed(c, "bad request magic")
    # Structured replies: errors come as error chunks; a read of the
    # unwritten tail is a hole chunk.
    c = Conn(path); c.greet(); size = c.go(structured=True, meta=True)
    c.request(CMD_READ, size, 512)
    ch = c.chunks()
    assert len(ch) == 1 and ch[0][0] == 0x8001, ch
    assert struct.unpack(">I", ch[0][1][:4])[0] == EINVAL
    c.request(CMD_READ, size - 65536, 65536)
    ch = c.chunks()
    assert [t for t, _ in ch] == [2], "a hole is not an OFFSET_HOLE chunk: %r" % ch
    c.request(CMD_BLOCK_STATUS, 0, size, flags=8)
    ch = c.chunks()
    assert ch[0][0] == 5 and len(ch[0][1]) == 12, "REQ_ONE block status: %r" % ch
    c.request(CMD_DISC, 0, 0)
    expect_closed(c, "after DISC")


def check_readonly(path):
    c = Conn(path); c.greet(); c.go()
    c.request(CMD_WRITE, 0, 512, payload=b"\x99" * 512)
    assert c.simple() == EPERM, "write to a read-only export"
    c.request(CMD_READ, 0, 512)
    assert c.simple() == 0; c.recv(512)


def check_busy(path):
    """--shared 2: two clients at once, a third waits for a free slot."""
    a = Conn(path); a.greet(); a.go()
    b = Conn(path); b.greet(); b.go()
    for c in (a, b):
        c.request(CMD_READ, 0, 4096)
        assert c.simple() == 0; c.recv(4096)
    third = Conn(path, timeout=0.5)
    try:
        third.recv(1)
        raise AssertionError("a third client was served with --shared 2")
    except socket.timeout:
        pass
    a.request(CMD_DISC, 0, 0)
    third.s.settimeout(5)
    third.greet(); third.go()
    third.request(CMD_READ, 0, 512)
    assert third.simple() == 0


for check in sys.argv[2:]:
    globals()["check_" + check](sys.argv[1])
    print("ok", check)
