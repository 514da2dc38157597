#!/usr/bin/env bash
# Writes seed corpora for the fuzz targets into DIR (default ./seeds):
# small qcow2 images made by qemu-img/qemu-io covering the header versions,
# cluster sizes, refcount widths, extended L2, compression, snapshots,
# backing names, data files and dirty bits, plus a few raw-looking files.
# Nothing is committed: the seeds are made fresh at every run.
set -euo pipefail
out=${1:-seeds}
mkdir -p "$out"
command -v qemu-img >/dev/null || { echo "seeds.sh: qemu-img missing, empty corpus" >&2; exit 0; }
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
ulimit -c 0

io() { qemu-io -f qcow2 "$@" >/dev/null 2>&1 || true; }
n=0
add() { cp "$1" "$out/seed_$n.img"; n=$((n + 1)); }
mk() {  # mk OPTS SIZE: a small image with a few writes
  rm -f "$w/s.qcow2"
  qemu-img create -q -f qcow2 ${1:+-o "$1"} "$w/s.qcow2" "$2"
  io -c 'write -P 0x5a 1234 5000' -c 'write -z 64k 64k' -c 'write -P 0x11 200k 4k' \
     -c 'discard 200k 512' "$w/s.qcow2"
  add "$w/s.qcow2"
}
# Small clusters keep the whole image within the fuzzers' -max_len.
mk "" 1M
mk cluster_size=4k 256k
mk compat=0.10,cluster_size=4k 256k
mk cluster_size=512 64k
mk cluster_size=1k 256k
mk refcount_bits=1,cluster_size=4k 256k
mk refcount_bits=64,cluster_size=4k 256k
mk lazy_refcounts=on,cluster_size=4k 256k
mk extended_l2=on,cluster_size=16k 256k
mk compression_type=zstd,cluster_size=4k 256k
mk preallocation=metadata,cluster_size=4k 256k
mk "data_file=$w/ext.data,cluster_size=4k" 256k
mk "data_file=$w/ext.data,data_file_raw=on,cluster_size=4k" 256k
mk cluster_size=512 40M
# Backing names (the fuzz chain opener resolves them; most will not exist).
qemu-img create -q -f qcow2 -o cluster_size=4k -u -b base.qcow2 -F qcow2 "$w/b.qcow2" 256k && add "$w/b.qcow2"
qemu-img create -q -f qcow2 -o cluster_size=4k -u -b base.raw -F raw "$w/b.qcow2" 256k && add "$w/b.qcow2"
# Names itself as seen by fuzz_chain (its input is a file called "img").
qemu-img create -q -f qcow2 -o cluster_size=4k -u -b img -F qcow2 "$w/b.qcow2" 256k && add "$w/b.qcow2"
# Compressed clusters, with zlib and zstd.
head -c 60000 /dev/zero | tr '\0' 'x' >"$w/c.raw"
head -c 5000 /dev/urandom >>"$w/c.raw"
for c in zlib zstd; do
  rm -f "$w/c.qcow2"
  qemu-img convert -c -O qcow2 -o compression_type=$c,cluster_size=4k "$w/c.raw" "$w/c.qcow2"
  add "$w/c.qcow2"
done
# Internal snapshots.
rm -f "$w/s.qcow2"
qemu-img create -q -f qcow2 -o cluster_size=4k "$w/s.qcow2" 256k
io -c 'write -P 1 0 8k' "$w/s.qcow2"
qemu-img snapshot -c s1 "$w/s.qcow2"
io -c 'write -P 2 4k 8k' "$w/s.qcow2"
qemu-img snapshot -c s2 "$w/s.qcow2"
add "$w/s.qcow2"
# A dirty image (lazy refcounts, aborted session).
rm -f "$w/s.qcow2"
qemu-img create -q -f qcow2 -o lazy_refcounts=on,cluster_size=4k "$w/s.qcow2" 256k
{ io -c 'write -P 3 0 16k' -c abort "$w/s.qcow2"; } 2>/dev/null
add "$w/s.qcow2"
# The other formats: small qed, vdi and vmdk images (one seed corpus feeds
# every target; each driver's probe rejects the others' files quickly).
for spec in "qed cluster_size=4k,table_size=1" "qed cluster_size=4k" "vdi " "vdi static=on" \
            "vmdk " "vmdk subformat=streamOptimized" "vmdk zeroed_grain=on"; do
  fmt=${spec%% *} o=${spec#* }
  rm -f "$w/s.img"
  qemu-img create -q -f "$fmt" ${o:+-o "$o"} "$w/s.img" 1M 2>/dev/null || continue
  qemu-io -f "$fmt" -c 'write -P 0x5a 1234 5000' -c 'write -P 0x11 512k 4k' "$w/s.img" >/dev/null 2>&1 || true
  add "$w/s.img"
done
# Raw-ish inputs.
head -c 4096 /dev/zero >"$w/r.raw" && add "$w/r.raw"
printf 'QFI\xfb' >"$w/r.raw" && add "$w/r.raw"
# Guest disks for fuzz_mbr_gpt and fuzz_ext: partition tables and small
# ext2/ext4 file systems (128 KiB fits -max_len).
if command -v sfdisk >/dev/null && command -v mkfs.ext4 >/dev/null; then
  rm -f "$w/d.raw"; truncate -s 128K "$w/d.raw"
  printf 'label: dos\n,32,L\n,,E\n,32,L\n,32,L\n' | sfdisk -q "$w/d.raw" >/dev/null 2>&1 && add "$w/d.raw"
  rm -f "$w/d.raw"; truncate -s 128K "$w/d.raw"
  printf 'label: gpt\n,40,L\n,40,L\n' | sfdisk -q "$w/d.raw" >/dev/null 2>&1 && add "$w/d.raw"
  mkdir -p "$w/t/etc" "$w/t/d"; echo host >"$w/t/etc/hostname"; ln -sf ../etc/hostname "$w/t/d/l"
  for t in ext2 ext4; do
    rm -f "$w/f.img"
    mkfs.$t -q -F -b 1024 -N 16 -d "$w/t" "$w/f.img" 128K >/dev/null 2>&1 && add "$w/f.img"
  done
fi
# Guest files for the fuzz_inspect_* targets: release files, fstab, dpkg
# status, pacman desc, apk installed, and rpm header blobs from an rpmdb.
printf 'PRETTY_NAME="Debian GNU/Linux 12"\nID=debian\nVERSION_ID="12"\n' >"$w/t.txt" && add "$w/t.txt"
printf 'Red Hat Enterprise Linux AS release 4 (Nahant Update 8)\n' >"$w/t.txt" && add "$w/t.txt"
printf 'DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=22.04\nDISTRIB_DESCRIPTION="Ubuntu 22.04 LTS"\n' >"$w/t.txt" && add "$w/t.txt"
printf 'UUID=1111 / ext4 defaults 0 1\nLABEL=DATA /srv\\040x vfat rw 0 2\n/dev/vdb1 /home ext4 rw\nPARTUUID=0badcafe-02 none swap sw\n' >"$w/t.txt" && add "$w/t.txt"
printf 'Package: a\nStatus: install ok installed\nVersion: 1:2.0-1\nArchitecture: all\nDescription: s\n d\n .\n\n' >"$w/t.txt" && add "$w/t.txt"
printf '%%NAME%%\nbash\n\n%%VERSION%%\n5.2-1\n\n%%ARCH%%\nx86_64\n\nP:musl\nV:1.2-r0\n\n' >"$w/t.txt" && add "$w/t.txt"
if command -v rpm >/dev/null && command -v rpmbuild >/dev/null && command -v sqlite3 >/dev/null; then
  mkdir -p "$w/rpm/top"
  printf 'Name: s\nVersion: 1\nRelease: 2\nEpoch: 3\nSummary: s\nLicense: MIT\nBuildArch: noarch\n%%description\nd\n%%files\n' >"$w/rpm/s.spec"
  if rpmbuild --quiet -bb --define "_topdir $w/rpm/top" "$w/rpm/s.spec" >/dev/null 2>&1 &&
     rpm --dbpath "$w/rpm/db" --initdb 2>/dev/null &&
     rpm --dbpath "$w/rpm/db" -i --nodeps --justdb --noscripts "$w"/rpm/top/RPMS/noarch/*.rpm >/dev/null 2>&1; then
    sqlite3 "$w/rpm/db/rpmdb.sqlite" "select writefile('$w/rpm/h.bin', blob) from Packages limit 1" >/dev/null &&
      add "$w/rpm/h.bin"
  fi
fi
# FAT12/16/32 for fuzz_fat: small images with long names, a directory and a file.
if command -v mkfs.vfat >/dev/null && command -v mcopy >/dev/null; then
  mkdir -p "$w/v/Sub Dir"; echo text >"$w/v/Sub Dir/A long file name.txt"; echo x >"$w/v/SHORT.TXT"
  for spec in "12 64" "16 2100" "32 120"; do
    set -- $spec
    rm -f "$w/v.img"
    # FAT32 below its suggested minimum of clusters keeps the image small (Linux
    # reads it; mtools will not write to it, so it stays empty).
    mkfs.vfat -C -F "$1" -s 1 -R 4 "$w/v.img" "$2" >/dev/null 2>&1 || continue
    (cd "$w/v" && MTOOLS_SKIP_CHECK=1 mcopy -s -i "$w/v.img" ./* :: >/dev/null 2>&1) || true
    # FAT16 needs 4085 clusters; its first 128 KiB hold the FATs, the root and the files.
    truncate -s '<128K' "$w/v.img"
    add "$w/v.img"
  done
fi
# ISO 9660 images for fuzz_iso9660 (xorriso's -no-pad keeps them small):
# Rock Ridge + Joliet, Rock Ridge with relocated deep directories, Joliet
# only, plain names.
if command -v xorriso >/dev/null; then
  mkdir -p "$w/iso/d/e"; echo host >"$w/iso/d/f"; ln -sf ../d/f "$w/iso/d/e/l"
  mkdir -p "$w/iso/n1/n2/n3/n4/n5/n6/n7/n8/n9"; echo deep >"$w/iso/n1/n2/n3/n4/n5/n6/n7/n8/n9/x"
  for o in "-R -J" "-R -rr_reloc_dir RR_MOVED" "-J --norock" "--norock"; do
    rm -f "$w/s.iso"
    xorriso -as mkisofs -quiet -no-pad $o -o "$w/s.iso" "$w/iso" >/dev/null 2>&1 && add "$w/s.iso"
  done
fi
echo "seeds.sh: $n seeds in $out"
