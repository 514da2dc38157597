// The agent's device-name translation (compiled in: the agent is its own
// executable, not a library the unit tests link).
#include "appliance/agent/devices.cc"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>

namespace dk::agent {
namespace {

// A fake /sys/block: the guest probed the host's disk 1 first (vda has
// serial dk1), disk 0 second (vdb, two partitions); vdc has no serial.
class FakeSys : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dk-devtest-XXXXXX";
    ASSERT_TRUE(::mkdtemp(tmpl));
    m_dir = tmpl;
    mk("vda", "dk1\n");
    mk("vdb", "dk0\n");
    mk("vdb/vdb1", "");
    mk("vdb/vdb2", "");
    mk("vdc", "");
    ::mkdir((m_dir + "/loop0").c_str(), 0755);
  }
  void TearDown() override { (void)!std::system(("rm -rf '" + m_dir + "'").c_str()); }
  void mk(const std::string& rel, const std::string& serial) {
    ::mkdir((m_dir + "/" + rel).c_str(), 0755);
    if (!serial.empty()) {
      FILE* f = std::fopen((m_dir + "/" + rel + "/serial").c_str(), "w");
      std::fputs(serial.c_str(), f);
      std::fclose(f);
    }
  }
  std::string m_dir;
};

TEST_F(FakeSys, SerialsDecideUserNames) {
  DeviceMap m = DeviceMap::guest(m_dir, m_dir);
  EXPECT_EQ(m.disks(), (std::vector<std::string>{"/dev/sda", "/dev/sdb", "/dev/sdc"}));
  EXPECT_EQ(m.to_user("/dev/vda"), "/dev/sdb");
  EXPECT_EQ(m.to_user("/dev/vdb2"), "/dev/sda2");
  EXPECT_EQ(m.to_user("/dev/vdc"), "/dev/sdc");
  EXPECT_EQ(m.partitions(), (std::vector<std::string>{"/dev/sda1", "/dev/sda2"}));
  // Not block devices here, so the lookup ends in ENOENT, but never in
  // another disk's name.
  EXPECT_FALSE(m.to_guest("/dev/sdd"));
}

TEST(AgentDevices, GuestNamesTranslateBack) {
  DeviceMap m = DeviceMap::guest("/nonexistent");
  EXPECT_EQ(m.to_user("/dev/vda"), "/dev/sda");
  EXPECT_EQ(m.to_user("/dev/vdb12"), "/dev/sdb12");
  EXPECT_EQ(m.to_user("/dev/vdaa3"), "/dev/sdaa3");
  EXPECT_EQ(m.to_user("/dev/mapper/vg-lv"), "/dev/mapper/vg-lv");
  EXPECT_EQ(m.to_user("/dev/sda"), "/dev/sda");  // not a guest name: unchanged
}

TEST(AgentDevices, RejectsNonDeviceNames) {
  DeviceMap m = DeviceMap::guest("/nonexistent");
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
