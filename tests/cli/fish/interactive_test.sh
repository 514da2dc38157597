#!/bin/bash
# Interactive mode on a pseudo-terminal: the banner and "><fs> " prompt, a
# command's output, an error that does not end the shell, tab completion
# of a command name and a guest path, and Ctrl-D leaving with status 0.
source "$DK_TESTLIB"
source "$(dirname "$0")/fixture.sh"
require python3
export HOME=$T

timeout 60 python3 - "$DISKIT" <<'PY' || fail "interactive session"
import os, pty, select, sys, time

def run():
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(sys.argv[1], [sys.argv[1], "fish", "--ro", "-a", "disk.qcow2", "-m", "/dev/sda1"])
    buf = b""
    def expect(what, timeout=15):
        nonlocal buf
        end = time.time() + timeout
        while what.encode() not in buf:
            left = end - time.time()
            if left <= 0:
                sys.exit("timed out waiting for %r; got %r" % (what, buf[-400:]))
            r, _, _ = select.select([fd], [], [], left)
            if r:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    data = b""
                if not data:
                    sys.exit("EOF waiting for %r; got %r" % (what, buf[-400:]))
                buf += data
        i = buf.index(what.encode()) + len(what)
        seen, buf = buf[:i], buf[i:]
        return seen.decode(errors="replace")

    banner = expect("><fs> ")
    assert "Welcome to diskit fish" in banner, banner
    os.write(fd, b"cat /etc/hostname\n")
    out = expect("><fs> ")
    assert "myhost" in out, out
    os.write(fd, b"cat /nothere\n")
    out = expect("><fs> ")
    assert "diskit: error: cat: '/nothere': No such file or directory" in out, out
    os.write(fd, b"bogus-command\n")
    out = expect("><fs> ")
    assert "bogus-command: unknown command" in out, out
    # Completion: "mountpoi<TAB>" -> "mountpoints", "/et<TAB>" -> "/etc/".
    os.write(fd, b"mountpoi\t")
    expect("mountpoints")
    os.write(fd, b"\n")
    out = expect("><fs> ")
    assert "/dev/sda1: /" in out, out
    os.write(fd, b"ls /et\t")
    expect("/etc/")
    os.write(fd, b"\n")
    out = expect("><fs> ")
    assert "hostname" in out and "passwd" in out, out
    os.write(fd, b"\x04")  # Ctrl-D
    end = time.time() + 15
    while time.time() < end:
        wpid, status = os.waitpid(pid, os.WNOHANG)
        if wpid:
            assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
            return
        try:
            os.read(fd, 4096)
        except OSError:
            pass
        time.sleep(0.05)
    sys.exit("the shell did not leave on Ctrl-D")

run()
PY
[ -s "$T/.diskit_fish_history" ] || fail "no history file written"
