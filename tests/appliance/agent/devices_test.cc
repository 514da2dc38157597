// The agent's device-name translation (compiled in: the agent is its own
// executable, not a library the unit tests link).
#include "appliance/agent/devices.cc"

#include <gtest/gtest.h>

namespace dk::agent {
namespace {

TEST(AgentDevices, GuestNamesTranslateBack) {
  DeviceMap m = DeviceMap::guest();
  EXPECT_EQ(m.to_user("/dev/vda"), "/dev/sda");
  EXPECT_EQ(m.to_user("/dev/vdb12"), "/dev/sdb12");
  EXPECT_EQ(m.to_user("/dev/vdaa3"), "/dev/sdaa3");
  EXPECT_EQ(m.to_user("/dev/mapper/vg-lv"), "/dev/mapper/vg-lv");
  EXPECT_EQ(m.to_user("/dev/sda"), "/dev/sda");  // not a guest name: unchanged
}

TEST(AgentDevices, RejectsNonDeviceNames) {
  DeviceMap m = DeviceMap::guest();
  for (const char* bad : {"/dev/sd", "/dev/sda0", "/dev/xda", "/etc/passwd", "/dev/sda/../x", "sda", "/dev/sdA"}) {
    auto r = m.to_guest(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ENOENT);
  }
}

TEST(AgentDevices, HostModeMapsFiles) {
  DeviceMap m = DeviceMap::host();
  m.add("sda", "/tmp/a.img");
  m.add("sdb", "/tmp/b.img");
  auto r = m.to_guest("/dev/sda");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "/tmp/a.img");
  EXPECT_TRUE(m.to_guest("/dev/vdb"));
  EXPECT_FALSE(m.to_guest("/dev/sdc"));
  EXPECT_FALSE(m.to_guest("/dev/sda1"));  // a plain file has no partitions
  EXPECT_EQ(m.to_user("/tmp/b.img"), "/dev/sdb");
  EXPECT_EQ(m.disks(), (std::vector<std::string>{"/dev/sda", "/dev/sdb"}));
}

TEST(AgentDevices, DiskOrder) {
  EXPECT_TRUE(disk_name_less("sdz", "sdaa"));
  EXPECT_TRUE(disk_name_less("sda", "sdb"));
}

}  // namespace
}  // namespace dk::agent
