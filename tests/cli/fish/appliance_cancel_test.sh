#!/bin/bash
# ^C during a long appliance command cancels it in the guest: the command
# fails with "cancelled" within seconds, the shell reports it and exits
# (script mode stops at an error), no child of the shell is left, and the
# file system still checks clean. First a tool: zerofree on an empty 8 GiB
# ext4 (it reads every free block: about two minutes through TCG); then a
# transfer made of many requests: a 400 MiB download from the same file
# system mounted through the appliance (--appliance), about 10 s.
source "$DK_TESTLIB"
require qemu-system-x86_64
require python3
require mkfs.ext4
require e2fsck
ls /boot/vmlinuz-* >/dev/null 2>&1 || skip "no kernel in /boot (install linux-image-amd64)"
[ -x "$(dirname "$DISKIT")/diskit-agent" ] || skip "diskit-agent is not built"

# interrupt.py EXPECTED FISH-ARGS... < SCRIPT: runs diskit fish, sends
# SIGINT 4 s after its appliance's QEMU appears, and checks the outcome.
cat > interrupt.py <<'PY'
import signal, subprocess, sys, time
dk, want, args = sys.argv[1], sys.argv[2], sys.argv[3:]
p = subprocess.Popen([dk, "fish"] + args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE, text=True)
p.stdin.write(sys.stdin.read() + "echo not-reached\n")
p.stdin.close()
p.stdin = None
deadline = time.time() + 120
while time.time() < deadline:
    if subprocess.run(["pgrep", "-P", str(p.pid), "qemu-system"], capture_output=True).returncode == 0:
        break
    time.sleep(0.2)
else:
    p.kill(); print("FAIL: the appliance did not start", file=sys.stderr); sys.exit(1)
time.sleep(4)  # restored (about 1 s) and into the long command
t0 = time.time()
p.send_signal(signal.SIGINT)
try:
    out, err = p.communicate(timeout=60)
except subprocess.TimeoutExpired:
    p.kill(); print("FAIL: no answer 60 s after ^C", file=sys.stderr); sys.exit(1)
took = time.time() - t0
print(f"exited {p.returncode} {took:.1f} s after ^C; stderr: {err.strip()}")
if p.returncode in (0, -2) or want not in err or "not-reached" in out or took > 30:
    print("FAIL: the command was not cancelled", file=sys.stderr); sys.exit(1)
time.sleep(1)
left = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True, text=True).stdout.split()
if left:
    print("FAIL: children of the shell are left: " + " ".join(left), file=sys.stderr); sys.exit(1)
PY

truncate -s 8G big.img
mkfs.ext4 -q -F big.img
printf 'run\nzerofree /dev/sda\n' | python3 interrupt.py "$DISKIT" "zerofree: /dev/sda: cancelled" -a big.img ||
  fail "zerofree: see above"
e2fsck -fn big.img > fsck.out 2>&1 || fail "the file system does not check clean after the cancel: $(cat fsck.out)"

head -c 400M /dev/urandom > big.bin
"$DISKIT" copy-in -a big.img -m /dev/sda big.bin / || fail "copy-in"
printf 'run\nmount /dev/sda /\ndownload /big.bin /dev/null\n' |
  python3 interrupt.py "$DISKIT" "download: cancelled" --appliance --ro -a big.img || fail "download: see above"
