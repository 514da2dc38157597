#!/bin/bash
# diskit serve against hostile and concurrent clients: malformed handshakes
# and requests get NBD errors or a closed connection, and the server keeps
# serving; --shared N serves N clients at once; TCP on loopback works.
. "$DK_TESTLIB"
. "$(dirname "${BASH_SOURCE[0]}")/serve_lib.sh"
require_qemu
require python3
CLIENT="$(dirname "${BASH_SOURCE[0]}")/nbd_client.py"

qemu-img create -q -f qcow2 img.qcow2 8M
qemu-io -c 'write -P 0x5a 0 1M' img.qcow2 >/dev/null

serve_start g --socket "$T/g.sock" img.qcow2
timeout 60 python3 "$CLIENT" "$T/g.sock" garbage options requests >py.out 2>&1 ||
  { cat py.out >&2; fail "hostile client checks"; }
# Still serving, and the image is intact.
qemu-io -f raw -c 'read -P 0x5a 0 1M' "$(nbd_uri "$T/g.sock")" >/dev/null || fail "server stopped serving"
serve_stop g
check_clean img.qcow2 qcow2

serve_start r --socket "$T/r.sock" --ro img.qcow2
timeout 30 python3 "$CLIENT" "$T/r.sock" readonly >py.out 2>&1 || { cat py.out >&2; fail "--ro checks"; }
serve_stop r

serve_start b --socket "$T/b.sock" --shared 2 img.qcow2
timeout 30 python3 "$CLIENT" "$T/b.sock" busy >py.out 2>&1 || { cat py.out >&2; fail "--shared 2 checks"; }
# Two real clients at once: a copy while another client writes.
U=$(nbd_uri "$T/b.sock")
qemu-io -f raw -c 'write -P 0x77 4M 1M' "$U" >/dev/null &
qemu-img convert -O raw "$U" two.raw
wait $! || fail "concurrent qemu-io write"
serve_stop b
qemu-io -c 'read -P 0x77 4M 1M' img.qcow2 >/dev/null || fail "write of the second client lost"

# A client that connects and never speaks loses its slot after
# --handshake-limit seconds; the next client is then served.
serve_start h --socket "$T/h.sock" --handshake-limit 1 img.qcow2
python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); time.sleep(8)' "$T/h.sock" &
idle=$!
sleep 0.3
timeout 5 qemu-img info "$(nbd_uri "$T/h.sock")" >/dev/null || fail "an idle client kept the only slot"
kill $idle 2>/dev/null || true
serve_stop h

# TCP on loopback (a free port chosen by the kernel, as the test may run in parallel).
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
serve_start t --port "$PORT" --ro img.qcow2
qemu-img convert -O raw "nbd://127.0.0.1:$PORT" tcp.raw
qemu-img convert -O raw img.qcow2 ref.raw
same_file ref.raw tcp.raw "read over TCP"
serve_stop t
