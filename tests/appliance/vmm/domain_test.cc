// The domain XML reader: units, the supported subset, and reports of what
// it does not support.
#include "appliance/vmm/domain.h"

#include <gtest/gtest.h>

namespace dk::vmm {
namespace {

constexpr const char* kDomain = R"(<domain type='qemu'>
  <name>t</name>
  <memory unit='GiB'>1</memory>
  <vcpu>2</vcpu>
  <os><type>hvm</type><kernel>/k</kernel><initrd>/i</initrd><cmdline>console=ttyS0</cmdline></os>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/a.qcow2'/>
      <target dev='vda' bus='virtio'/><readonly/></disk>
    <disk type='file' device='disk'><source file='/b.raw'/><target dev='vdb' bus='virtio'/></disk>
    <graphics type='vnc'/>
  </devices>
</domain>)";

TEST(DomainXml, ReadsTheSupportedSubset) {
  auto d = parse_domain_xml(kDomain, "t.xml");
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->config.memory_mib, 1024u);
  EXPECT_EQ(d->config.cpus, 2u);
  EXPECT_EQ(d->config.kernel, "/k");
  EXPECT_EQ(d->config.initrd, "/i");
  EXPECT_EQ(d->config.append, "console=ttyS0");
  ASSERT_EQ(d->config.drives.size(), 2u);
  EXPECT_EQ(d->config.drives[0].image, "/a.qcow2");
  EXPECT_EQ(d->config.drives[0].format, "qcow2");
  EXPECT_TRUE(d->config.drives[0].read_only);
  EXPECT_FALSE(d->config.drives[1].read_only);
  ASSERT_EQ(d->warnings.size(), 1u);
  EXPECT_NE(d->warnings[0].find("graphics"), std::string::npos);
}

TEST(DomainXml, RejectsMalformedDocuments) {
  EXPECT_FALSE(parse_domain_xml("<domain><name>x</name>", "t.xml"));
  EXPECT_FALSE(parse_domain_xml("<notadomain/>", "t.xml"));
  EXPECT_FALSE(parse_domain_xml("", "t.xml"));
}

TEST(DomainXml, MemorySizes) {
  EXPECT_EQ(parse_memory_mib("512").value(), 512u);
  EXPECT_EQ(parse_memory_mib("1G").value(), 1024u);
  EXPECT_FALSE(parse_memory_mib("lots"));
  EXPECT_FALSE(parse_memory_mib("-1"));
}

}  // namespace
}  // namespace dk::vmm
