#!/bin/bash
# diskit serve's command-line errors: one "diskit: serve: " line, exit 1,
# and a SIGINT stop that flushes and exits 0.
. "$DK_TESTLIB"
. "$(dirname "${BASH_SOURCE[0]}")/serve_lib.sh"
require_qemu

qemu-img create -q -f qcow2 img.qcow2 4M
touch plain

expect_clean_error "$DISKIT" serve missing.qcow2
expect_clean_error "$DISKIT" serve
expect_clean_error "$DISKIT" serve --socket "$T/a.sock" --port 10810 img.qcow2
expect_clean_error "$DISKIT" serve --shared 0 img.qcow2
expect_clean_error "$DISKIT" serve --port 70000 img.qcow2
expect_clean_error "$DISKIT" serve --socket "$T/nodir/a.sock" img.qcow2
expect_clean_error "$DISKIT" serve --socket "$T/plain" img.qcow2
expect_clean_error "$DISKIT" serve -U img.qcow2
expect_clean_error "$DISKIT" serve -f vdi img.qcow2
[ -f plain ] || fail "a non-socket file at --socket was removed"

# A writable export holds the image: a second server is refused, with -U
# a read-only one may share it.
serve_start a --socket "$T/a.sock" img.qcow2
expect_clean_error "$DISKIT" serve --socket "$T/b.sock" img.qcow2
serve_start b --socket "$T/b.sock" --ro -U img.qcow2
serve_stop b
serve_stop a

# SIGINT stops cleanly too, after a write that was not flushed by the client.
serve_start i --socket "$T/i.sock" img.qcow2
qemu-io -f raw -c 'write -P 0x42 0 64k' "$(nbd_uri "$T/i.sock")" >/dev/null
kill -INT "$SERVE_PID_i"
rc=0; wait "$SERVE_PID_i" || rc=$?
[ "$rc" = 0 ] || fail "diskit serve exited $rc after SIGINT"
[ ! -e "$T/i.sock" ] || fail "the socket file is left behind"
check_clean img.qcow2 qcow2
qemu-io -c 'read -P 0x42 0 64k' img.qcow2 >/dev/null || fail "write lost after SIGINT"
