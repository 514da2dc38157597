#include "appliance/image/recipe.h"

namespace dk::appliance {
namespace {

// PID 1: mounts the kernel file systems, loads the modules in dependency
// order, then runs the agent on its virtio-serial port (or a shell for
// diskit rescue) and powers the VM off when it ends.
constexpr const char* kInit = R"(#!/bin/sh
export PATH=/usr/sbin:/usr/bin LVM_SUPPRESS_FD_WARNINGS=1
mkdir -p /proc /sys /dev
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm /run /tmp /sysroot /mnt
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /run/cryptsetup /run/lock /run/lvm
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/mounts /etc/mtab
while read m; do insmod /usr/lib/diskit/modules/$m.ko 2>/dev/null; done < /usr/lib/diskit/modules/order
ifconfig lo 127.0.0.1 up 2>/dev/null
mdadm --assemble --scan >/dev/null 2>&1
case " $(cat /proc/cmdline) " in
*" diskit.rescue=1 "*)
  echo "diskit rescue: the disks are /dev/sda... (guest names /dev/vda...); mount them on /sysroot."
  echo "Type exit or press ^D to leave."
  setsid cttyhack sh -l
  ;;
*)
  echo "diskit-agent: starting"
  diskit-agent --port org.diskit.agent
  ;;
esac
sync
poweroff -f
)";

constexpr const char* kLvmConf = R"(devices {
  obtain_device_list_from_udev = 0
}
activation {
  udev_sync = 0
  udev_rules = 0
  monitoring = 0
}
)";

}  // namespace

std::vector<std::tuple<std::string, std::string, uint32_t>> recipe_files() {
  return {
      {"init", kInit, 0755},
      {"etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0644},
      {"etc/group", "root:x:0:\ndisk:x:6:\n", 0644},
      {"etc/lvm/lvm.conf", kLvmConf, 0644},
      {"etc/profile", "export PS1='><rescue> ' PATH=/usr/sbin:/usr/bin\n", 0644},
      {"root/.keep", "", 0644},
  };
}

}  // namespace dk::appliance
