#!/bin/bash
# ls shapes of virt-ls: -l is `ls -la` as libguestfs' appliance runs it (C
# locale, UTC): compared with GNU ls on the source tree for non-directory
# lines; -R lists full guest paths; -lR and its --csv/--uids/--times/-h
# fields; flags that need -lR are refused.
source "$DK_TESTLIB"
source "$(dirname "$0")/lib_guest.sh"

make_tree src
make_guest src g.qcow2

dk ls -a g.qcow2 -m /dev/sda1 -l /etc > ll.out
head -1 ll.out | grep -qE '^total [0-9]+$' || fail "no total line: $(head -1 ll.out)"
sed -n 2,3p ll.out | grep -qE '^drwxr-xr-x +[0-9]+ root +root +[0-9]+ .* \.{1,2}$' || fail ". and ..: $(cat ll.out)"
grep -E '^[-l]' ll.out > ll.files
(cd src/etc && TZ=UTC LC_ALL=C ls -la) | grep -E '^[-l]' > ll.want
same_file ll.want ll.files "ls -l against GNU ls -la"
grep -qE "^-rw-r--r-- 1 root root +32 May  6  2020 passwd$" ll.out || fail "old file date: $(cat ll.out)"

dk ls -a g.qcow2 -m /dev/sda1 -R /deep > r.out
printf '/deep/a\n/deep/a/b\n/deep/a/b/c\n/deep/a/b/c/leaf\n' > r.want
same_file r.want r.out "ls -R"

dk ls -a g.qcow2 -m /dev/sda1 -lR /home > lr.out
grep -qE '^l 0777 +16 /home/user/pw -> \.\./\.\./etc/passwd$' lr.out || fail "-lR link: $(cat lr.out)"
grep -qE '^d 0755 +[0-9]+ /home$' lr.out || fail "-lR start dir: $(cat lr.out)"
dk ls -a g.qcow2 -m /dev/sda1 -lR --csv --uids --time-t /home/user > csv.out
grep -qx -e '-,0600,12,0,0,[0-9]*,1641092645,[0-9]*,"/home/user/my docs/a file.txt"' csv.out ||
  fail "--csv --uids --time-t: $(cat csv.out)"
grep -qx 'l,0777,16,0,0,[0-9]*,[0-9]*,[0-9]*,/home/user/pw,../../etc/passwd' csv.out || fail "csv link: $(cat csv.out)"
dk ls -a g.qcow2 -m /dev/sda1 -lRh /usr > h.out
grep -qE '^- 4755 +195K /usr/bin/prog$' h.out || fail "-h: $(cat h.out)"
expect_clean_error "$DISKIT" ls -a g.qcow2 -m /dev/sda1 -l --csv /
expect_clean_error "$DISKIT" ls -a g.qcow2 -m /dev/sda1 -lR -h --csv /
expect_clean_error "$DISKIT" ls -a g.qcow2 -m /dev/sda1 -l /nothere
echo PASS
