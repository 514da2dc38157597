#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine (run as root):
#   bash scripts/dev.sh demo   install dependencies, build, run a real job on an image it makes
#   bash scripts/dev.sh test   install dependencies, build, run the whole test suite
#   bash scripts/dev.sh build  install dependencies and build only
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-demo}

# Build and library dependencies, then test oracles and helpers.
DEPS=(
  build-essential cmake ninja-build ccache pkg-config
  zlib1g-dev libzstd-dev libssl-dev libcli11-dev nlohmann-json3-dev libexpected-dev
  libext2fs-dev libarchive-dev libdeflate-dev libsqlite3-dev libfuse3-dev fuse3 libreadline-dev
  libpugixml-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-14 libclang-rt-14-dev
  qemu-utils python3 xxd
  e2fsprogs fdisk gdisk dosfstools mtools xorriso libarchive-tools grub-rescue-pc rpm sqlite3
  qemu-system-x86 linux-image-amd64 busybox-static libnbd-bin
  xfsprogs btrfs-progs exfatprogs ntfs-3g lvm2 cryptsetup-bin parted mdadm
)

install_deps() {
  local missing=()
  for p in "${DEPS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "dev.sh: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

build() {
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j"$(nproc)"
}

# The appliance (kernel + initramfs from this machine's packages, then one
# boot to save its state, about 15 s the first time) so the first command
# that needs it restores in a second. Not fatal: it is rebuilt on demand.
prepare_appliance() {
  if command -v qemu-system-x86_64 >/dev/null && ls /boot/vmlinuz-* >/dev/null 2>&1; then
    build/diskit appliance build || echo "dev.sh: warning: the appliance could not be prepared" >&2
  fi
}

demo() {
  local d; d=$(mktemp -d)
  trap 'rm -rf "$d"' RETURN
  local dk=build/diskit
  echo "== demo in $d"
  # A raw base with some data, a qcow2 overlay over it, a write into the overlay.
  head -c 4M /dev/urandom > "$d/data.bin"
  $dk create -f raw "$d/base.raw" 64M
  dd if="$d/data.bin" of="$d/base.raw" bs=1M seek=8 conv=notrunc status=none
  $dk create -f qcow2 -b base.raw -F raw "$d/overlay.qcow2"
  $dk convert -O qcow2 -c "$d/overlay.qcow2" "$d/flat.qcow2"
  $dk info --output=json "$d/flat.qcow2"
  $dk map --output=json "$d/flat.qcow2"
  $dk compare "$d/overlay.qcow2" "$d/flat.qcow2"
  $dk convert -O raw "$d/flat.qcow2" "$d/back.raw"
  cmp "$d/base.raw" "$d/back.raw" && echo "== demo: round trip is byte-identical"
  # The appliance: an xfs file system (which diskit does not write natively)
  # made and written in a qcow2 by the appliance VM.
  if [ -f "$($dk appliance info | sed -n 's/.*"saved_state": "\(.*\)".*/\1/p')" ]; then
    $dk create -f qcow2 "$d/xfs.qcow2" 400M
    $dk fish -a "$d/xfs.qcow2" run : mkfs xfs /dev/sda : mount /dev/sda / : write /hello "hello from xfs" : \
      cat /hello : df-h
  fi
}

run_tests() {
  # Unit and CLI tests; CLI tests compare with qemu-img/qemu-io. The suite
  # must fit 25 minutes on 2 cores with a cold build: the crash tests kill
  # at half their points (DK_CRASH_SCALE=100 for all of them) and each of the
  # ~20 fuzz targets runs 10 s (longer runs: DK_FUZZ_SECONDS).
  DK_CRASH_SCALE=${DK_CRASH_SCALE:-50} ctest --test-dir build --output-on-failure -j"$(nproc)" --timeout 900
  if [ "${DK_SKIP_FUZZ:-0}" != 1 ]; then
    DK_FUZZ_SECONDS=${DK_FUZZ_SECONDS:-10} bash tests/fuzz/run.sh
  fi
}

install_deps
build
prepare_appliance
case "$mode" in
  demo) demo ;;
  test) run_tests ;;
  build) ;;
  *) echo "usage: $0 demo|test|build" >&2; exit 2 ;;
esac
