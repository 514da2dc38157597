#!/bin/bash
# Script mode: guestfish's quoting and escapes, comments, the '-' prefix,
# exit status 1 at the first error (later lines not run), error messages,
# the ':'-separated command line, -f, pipes, '!', -x, help.
source "$DK_TESTLIB"
source "$(dirname "$0")/fixture.sh"

# Quoting: '...' literal, "..." with C escapes, bare words as they are.
fish > q.out <<'CMDS'
# a comment, then a blank line

echo plain 'single $x \n' "tab\there" "q\"uote" "\x41\101\?" bare\n
  echo    spaced     out
echo ""
echo '' end
CMDS
printf 'plain single $x \\n tab\there q"uote AA? bare\\n\nspaced out\n\n end\n' > q.want
same_file q.want q.out "quoting"

# Parse errors stop the script with status 1.
capture bad fish <<<'echo "\q"'
[ "$(cat bad.rc)" = 1 ] || fail "bad escape: status $(cat bad.rc)"
grep -qx 'diskit: invalid escape sequence in string (starting at offset 0)' bad.err || fail "bad escape: $(cat bad.err)"
capture unterm fish <<<'echo "abc'
[ "$(cat unterm.rc)" = 1 ] && grep -qx 'diskit: unterminated double quote' unterm.err || fail "unterminated: $(cat unterm.err)"
capture sep fish <<<"echo 'a'b"
[ "$(cat sep.rc)" = 1 ] && grep -qx 'diskit: command arguments not separated by whitespace' sep.err || fail "sep: $(cat sep.err)"

# The first error ends the script; '-' lets a line fail.
capture err fish --ro -a disk.qcow2 -m /dev/sda1 <<'CMDS'
echo one
-cat /nothere
echo two
cat /nothere
echo three
CMDS
[ "$(cat err.rc)" = 1 ] || fail "error status: $(cat err.rc)"
printf 'one\ntwo\n' > err.want
same_file err.want err.out "output up to the error"
[ "$(grep -c . err.err)" = 2 ] || fail "two error lines expected: $(cat err.err)"
grep -qx "\*stdin\*:2: diskit: error: cat: '/nothere': No such file or directory" err.err || fail "message: $(cat err.err)"
grep -qx "\*stdin\*:4: diskit: error: cat: '/nothere': No such file or directory" err.err || fail "message: $(cat err.err)"

# Unknown commands, argument counts, optional arguments.
capture unk fish <<<'frobnicate'
[ "$(cat unk.rc)" = 1 ] && grep -qx 'frobnicate: unknown command' unk.err || fail "unknown: $(cat unk.err)"
capture nargs fish <<<'help a b'
grep -qx 'error: incorrect number of arguments' nargs.err && grep -qx 'usage: help \[cmd\]' nargs.err || fail "nargs: $(cat nargs.err)"
capture opt fish --ro -a disk.qcow2 -m /dev/sda1 <<<'is-dir /bin bogus:true'
[ "$(cat opt.rc)" = 1 ] && grep -qx 'is-dir: unknown optional argument "bogus:true"' opt.err || fail "optarg: $(cat opt.err)"
capture optb fish --ro -a disk.qcow2 -m /dev/sda1 <<<'is-dir /bin followsymlinks:maybe'
grep -q "'maybe': invalid boolean value, use 'true' or 'false'" optb.err || fail "bool: $(cat optb.err)"

# Commands that need run / a root file system.
capture norun fish -a disk.qcow2 <<<'list-devices'
grep -q 'diskit: error: list-devices: call launch before using this function' norun.err || fail "no run: $(cat norun.err)"
capture noroot fish -a disk.qcow2 <<<$'run\ncat /etc/hostname'
grep -q "cat: you must call 'mount' first to mount the root filesystem" noroot.err || fail "no root: $(cat noroot.err)"
capture kern fish --no-appliance -a disk.qcow2 <<<$'run\nmkfs ext4 /dev/sda1'
grep -q "mkfs: mkfs needs the appliance (a Linux VM), which --no-appliance disables" kern.err || fail "kernel-only: $(cat kern.err)"

# The command line: commands separated by ':'; -f; pipes; '!' shell lines; -x.
fish --ro -a disk.qcow2 run : mount-ro /dev/sda1 / : cat /etc/hostname : -cat /x : echo end > cl.out 2>cl.err
printf 'myhost\n\nend\n' > cl.want
same_file cl.want cl.out "command line"
printf 'run\nmount-ro /dev/sda1 /\necho ok\ncat /nope\n' > s.fish
capture f fish -a disk.qcow2 -f s.fish
[ "$(cat f.rc)" = 1 ] && grep -q "^s.fish:4: diskit: error: cat:" f.err || fail "-f: $(cat f.err)"
fish --ro -a disk.qcow2 -m /dev/sda1 > pipe.out <<'CMDS'
head-n 3 /etc/twenty | tr n N
!echo from the shell
echo after
CMDS
printf 'N1\nN2\nN3\nfrom the shell\nafter\n' > pipe.want
same_file pipe.want pipe.out "pipes and shell lines"
fish -x echo traced 2> x.err > x.out
grep -qx 'diskit: trace: echo "traced"' x.err || fail "-x: $(cat x.err)"

# help lists every command; help CMD shows the synopsis.
fish help > help.out
head -1 help.out | grep -qx '    Command              Description' || fail "help header: $(head -2 help.out)"
for c in run list-filesystems mount-ro mountpoints statns checksum tar-in copy-out edit df-h \
         inspect-list-applications2 write-append truncate-size part-list; do
  grep -qE "^$c +[a-z]" help.out || fail "help does not list $c"
done
fish help umount > hu.out
grep -qx '     umount pathordevice \[force:true|false\] \[lazyunmount:true|false\]' hu.out || fail "help umount: $(cat hu.out)"
grep -qx 'NAME' hu.out || fail "help umount: $(cat hu.out)"
