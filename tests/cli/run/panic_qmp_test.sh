#!/bin/bash
# diskit run: --qmp gives the user a working QMP socket while the guest
# runs (query-status says running), and a guest kernel panic ends the run
# with status 2 and one line saying so (pvpanic, or the panic=-1 reset
# under -no-reboot). One TCG boot of a busybox initramfs, 10-15 s.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/guest_kit.sh"

cat > init <<'SH'
#!/bin/sh
export PATH=/bin
busybox mount -t proc proc /proc
echo "GUEST-UP"
busybox sleep 4
echo c > /proc/sysrq-trigger
busybox sleep 60
SH
python3 "$HERE/mkinitramfs.py" initrd.img init "$KVER" virtio_pci || fail "building the initramfs"

python3 - "$DISKIT" "$KERNEL" "$T/qmp.sock" <<'PY' || fail "see above"
import json, socket, subprocess, sys, time
dk, kernel, sock = sys.argv[1:4]
p = subprocess.Popen([dk, "run", "--kernel", kernel, "--initrd", "initrd.img", "--append",
                      "console=ttyS0 quiet panic=-1 sysrq_always_enabled", "--memory", "256M",
                      "--qmp", sock], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
s = None
for _ in range(300):
    try:
        s = socket.socket(socket.AF_UNIX); s.connect(sock); break
    except OSError:
        s = None; time.sleep(0.05)
if s is None:
    p.kill(); print("FAIL: the --qmp socket never accepted", file=sys.stderr); sys.exit(1)
f = s.makefile("rb")
greeting = json.loads(f.readline())
assert "QMP" in greeting, greeting
def cmd(c):
    s.sendall(json.dumps({"execute": c}).encode())
    while True:
        m = json.loads(f.readline())
        if "return" in m or "error" in m: return m
assert "return" in cmd("qmp_capabilities")
st = cmd("query-status")
if st.get("return", {}).get("status") not in ("running", "prelaunch"):
    p.kill(); print(f"FAIL: query-status: {st}", file=sys.stderr); sys.exit(1)
try:
    out, err = p.communicate(timeout=180)
except subprocess.TimeoutExpired:
    p.kill(); print("FAIL: the panicked guest did not end the run", file=sys.stderr); sys.exit(1)
print(f"status {p.returncode}; stderr: {err.strip()}")
if "GUEST-UP" not in out:
    print("FAIL: the guest never came up: " + out[-500:], file=sys.stderr); sys.exit(1)
if p.returncode != 2 or "the guest panicked or reset" not in err:
    print("FAIL: a guest panic must exit 2 with its message", file=sys.stderr); sys.exit(1)
PY
echo PASS
