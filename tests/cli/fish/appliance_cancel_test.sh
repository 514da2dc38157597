#!/bin/bash
# ^C during a long appliance command cancels it in the guest: the command
# fails with "cancelled" within seconds, the shell reports it and exits
# (script mode stops at an error), the appliance and QEMU are gone, and the
# file system still checks clean. The long command: zerofree on an empty
# 8 GiB ext4 (it reads every free block: about two minutes through TCG).
# Then the same for a download, which is many requests.
source "$DK_TESTLIB"
require qemu-system-x86_64
require python3
ls /boot/vmlinuz-* >/dev/null 2>&1 || skip "no kernel in /boot (install linux-image-amd64)"
[ -x "$(dirname "$DISKIT")/diskit-agent" ] || skip "diskit-agent is not built"

require mkfs.ext4
require e2fsck
truncate -s 8G big.img
mkfs.ext4 -q -F big.img
python3 - "$DISKIT" <<'PY' || fail "see above"
import os, signal, subprocess, sys, time
p = subprocess.Popen([sys.argv[1], "fish", "-a", "big.img"], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
p.stdin.write("run\nzerofree /dev/sda\necho not-reached\n")
p.stdin.close()
p.stdin = None
time.sleep(1)
# Wait until the appliance runs (its QEMU is a child of the shell).
deadline = time.time() + 120
while time.time() < deadline:
    kids = subprocess.run(["pgrep", "-P", str(p.pid), "qemu-system"], capture_output=True, text=True).stdout.split()
    if kids:
        break
    time.sleep(0.2)
else:
    print("FAIL: the appliance did not start", file=sys.stderr); p.kill(); sys.exit(1)
time.sleep(8)  # the appliance is up and zerofree under way
t0 = time.time()
p.send_signal(signal.SIGINT)
try:
    out, err = p.communicate(timeout=60)
except subprocess.TimeoutExpired:
    p.kill(); print("FAIL: no answer 60 s after ^C", file=sys.stderr); sys.exit(1)
took = time.time() - t0
print(f"exited {p.returncode} {took:.1f} s after ^C; stderr: {err.strip()}")
if p.returncode == 0 or "cancelled" not in err or "not-reached" in out:
    print("FAIL: the command was not cancelled", file=sys.stderr); sys.exit(1)
if took > 30:
    print("FAIL: cancelling took too long", file=sys.stderr); sys.exit(1)
time.sleep(1)
if subprocess.run(["pgrep", "-f", "qemu-system.*dk-appliance"], capture_output=True).returncode == 0:
    # (another test's appliance may run at the same time: only ours counts)
    left = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True, text=True).stdout.split()
    if left:
        print("FAIL: children of the shell are left: " + " ".join(left), file=sys.stderr); sys.exit(1)
PY
e2fsck -fn big.img > fsck.out 2>&1 || fail "the file system does not check clean after the cancel: $(cat fsck.out)"

# A transfer made of many requests: ^C during a download of a 400 MiB file
# read through the appliance (--appliance mounts through it) stops it.
head -c 400M /dev/urandom > big.bin
"$DISKIT" copy-in -a big.img -m /dev/sda big.bin / || fail "copy-in"
python3 - "$DISKIT" <<'PY' || fail "see above"
import signal, subprocess, sys, time
p = subprocess.Popen([sys.argv[1], "fish", "--appliance", "--ro", "-a", "big.img"], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
p.stdin.write("run\nmount /dev/sda /\ndownload /big.bin /dev/null\necho not-reached\n")
p.stdin.close()
p.stdin = None
deadline = time.time() + 120
while time.time() < deadline:
    if subprocess.run(["pgrep", "-P", str(p.pid), "qemu-system"], capture_output=True).returncode == 0:
        break
    time.sleep(0.2)
time.sleep(4)  # restored and mounted (2-3 s); the download takes about 10 s
t0 = time.time()
p.send_signal(signal.SIGINT)
try:
    out, err = p.communicate(timeout=60)
except subprocess.TimeoutExpired:
    p.kill(); print("FAIL: no answer 60 s after ^C", file=sys.stderr); sys.exit(1)
took = time.time() - t0
print(f"download: exited {p.returncode} {took:.1f} s after ^C; stderr: {err.strip()}")
if p.returncode in (0, -2) or "download: cancelled" not in err or "not-reached" in out or took > 20:
    print("FAIL: the download was not cancelled", file=sys.stderr); sys.exit(1)
PY
