// Inspection's parsers: release files, fstab resolution, dpkg status,
// pacman, apk, rpm headers and the ELF architecture, including hostile
// input (huge numbers, truncated headers, offsets outside the data).
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "formats/core/endian.h"
#include "fs/inspect/distro.h"
#include "fs/inspect/fstab.h"
#include "fs/inspect/parse.h"
#include "fs/inspect/rpmdb.h"

namespace dk::fs::inspect {
namespace {

TEST(InspectParse, ShellUnquote) {
  EXPECT_EQ(shell_unquote("a"), "a");
  EXPECT_EQ(shell_unquote("'b'"), "b");
  EXPECT_EQ(shell_unquote("\"c\""), "c");
  EXPECT_EQ(shell_unquote("\"e\\\\e\""), "e\\e");
  EXPECT_EQ(shell_unquote("\"f\\\\\""), "f\\");
  EXPECT_EQ(shell_unquote("\"h\\-h\""), "h\\-h");
  EXPECT_EQ(shell_unquote("\"j\\\"\""), "j\"");
  EXPECT_EQ(shell_unquote("\""), "\"");
}

TEST(InspectParse, VersionFromMajorMinor) {
  EXPECT_EQ(version_from_major_minor("12.7"), (std::pair{12, 7}));
  EXPECT_EQ(version_from_major_minor("release 8 and 9.2"), (std::pair{9, 2}));
  EXPECT_EQ(version_from_major_minor("v 7"), (std::pair{7, 0}));
  EXPECT_EQ(version_from_major_minor("none"), std::nullopt);
  EXPECT_EQ(version_from_major_minor("99999999999999999999.1"), std::nullopt);
}

TEST(InspectParse, OsReleaseDebianFallsThrough) {
  ReleaseData d;
  EXPECT_FALSE(parse_os_release("ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12\"\n", d));
  EXPECT_EQ(d.distro, "debian");
  EXPECT_TRUE(parse_generic_release(first_line("12.7\n"), "debian", ReleasePattern::None, "", d));
  EXPECT_EQ(d.product_name, "12.7");
  EXPECT_EQ(d.version, (std::pair{12, 7}));
}

TEST(InspectParse, OsReleaseFedoraAndRolling) {
  ReleaseData f;
  EXPECT_TRUE(parse_os_release("NAME=Fedora\nID=fedora\nVERSION_ID=39\nPRETTY_NAME='Fedora Linux 39'\n", f));
  EXPECT_EQ(f.distro, "fedora");
  EXPECT_EQ(f.product_name, "Fedora Linux 39");
  EXPECT_EQ(f.version, (std::pair{39, 0}));
  ReleaseData a;
  EXPECT_TRUE(parse_os_release("ID=arch\nPRETTY_NAME=\"Arch Linux\"\n", a));
  EXPECT_EQ(a.distro, "archlinux");
  EXPECT_EQ(a.version, (std::pair{0, 0}));
  ReleaseData u;
  EXPECT_TRUE(parse_os_release("ID=ubuntu\nVERSION_ID=\"22.04\"\nPRETTY_NAME=\"Ubuntu 22.04.3 LTS\"\n", u));
  EXPECT_EQ(osinfo_of("linux", *u.distro, u.version->first, u.version->second), "ubuntu22.04");
  ReleaseData n;
  EXPECT_TRUE(parse_os_release("ID=neokylin\nVERSION_ID=V7Update6\nPRETTY_NAME=x\n", n));
  EXPECT_EQ(n.version, (std::pair{7, 6}));
  ReleaseData x;
  EXPECT_FALSE(parse_os_release("ID=plan9\nPRETTY_NAME=x\nVERSION_ID=4\n", x));
}

TEST(InspectParse, RedhatRelease) {
  ReleaseData d;
  EXPECT_TRUE(parse_generic_release("Fedora release 14 (Phony)", "fedora", ReleasePattern::Fedora, "", d));
  EXPECT_EQ(d.version, (std::pair{14, 0}));
  ReleaseData r;
  EXPECT_FALSE(parse_generic_release("Red Hat Enterprise Linux release 9.2 (Plow)", "rhel", ReleasePattern::Old,
                                     "Red Hat", r));
  EXPECT_TRUE(parse_generic_release("Red Hat Enterprise Linux release 9.2 (Plow)", "rhel",
                                    ReleasePattern::MajorMinor, "Red Hat", r));
  EXPECT_EQ(r.version, (std::pair{9, 2}));
  ReleaseData o;
  EXPECT_TRUE(parse_generic_release("Red Hat Enterprise Linux AS release 4 (Nahant Update 8)", "rhel",
                                    ReleasePattern::Old, "Red Hat", o));
  EXPECT_EQ(o.version, (std::pair{4, 8}));
  ReleaseData c;
  EXPECT_TRUE(parse_generic_release("CentOS Linux release 7", "centos", ReleasePattern::MajorOnly, "CentOS", c));
  EXPECT_EQ(c.version, (std::pair{7, 0}));
  EXPECT_EQ(package_management_of(std::string("centos"), 7, false), "yum");
  EXPECT_EQ(package_management_of(std::string("fedora"), 39, true), "dnf");
  EXPECT_EQ(package_management_of(std::string("fedora"), 39, false), "yum");
  EXPECT_EQ(package_format_of(std::string("alpinelinux")), "apk");
}

TEST(InspectParse, Hostname) {
  EXPECT_EQ(parse_hostname_file("# c\n\nhost1\nhost2\n"), "host1");
  EXPECT_EQ(parse_hostname_file("#only\n"), std::nullopt);
  EXPECT_EQ(parse_sysconfig_hostname("NETWORKING=yes\nHOSTNAME=\"rh.example\"\n"), "rh.example");
}

TEST(InspectParse, Fstab) {
  auto e = parse_fstab("# c\n  UUID=abc / ext4 defaults 0 1\nLABEL=my\\040data /srv//x/ ext4\nshort line\n");
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].spec, "UUID=abc");
  EXPECT_EQ(e[1].spec, "LABEL=my data");
  EXPECT_EQ(canonical_path(e[1].file), "/srv/x");
  EXPECT_EQ(canonical_path("none"), "none");
}

DeviceResolver test_resolver() {
  auto cand = [](const char* name, const char* type, const char* label, const char* uuid) {
    DeviceResolver::Candidate c;
    c.dev.name = name;
    c.probe.type = type;
    c.probe.label = label;
    c.probe.uuid = uuid;
    return c;
  };
  return DeviceResolver({"/dev/sda", "/dev/sdb"},
                        {{"/dev/sda1", "1234abcd-01", ""}, {"/dev/sda2", "1234abcd-02", ""},
                         {"/dev/sdb1", "c0ffee00-0000-4000-8000-000000000001", "data part"}},
                        {cand("/dev/sda1", "ext4", "root", "11111111-2222-3333-4444-555555555555"),
                         cand("/dev/sda2", "swap", "", "66666666-7777-8888-9999-000000000000"),
                         cand("/dev/sdb1", "ext4", "my data", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")});
}

TEST(InspectFstab, ResolvesSpecs) {
  DeviceResolver r = test_resolver();
  EXPECT_EQ(r.resolve_spec("UUID=11111111-2222-3333-4444-555555555555", "/dev/sda1"), "/dev/sda1");
  EXPECT_EQ(r.resolve_spec("UUID=\"AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE\"", "/dev/sda1"), "/dev/sdb1");
  EXPECT_EQ(r.resolve_spec("LABEL='my data'", "/dev/sda1"), "/dev/sdb1");
  EXPECT_EQ(r.resolve_spec("LABEL=none", "/dev/sda1"), std::nullopt);
  EXPECT_EQ(r.resolve_spec("PARTUUID=1234ABCD-02", "/dev/sda1"), "/dev/sda2");
  EXPECT_EQ(r.resolve_spec("PARTLABEL=data part", "/dev/sda1"), "/dev/sdb1");
  EXPECT_EQ(r.resolve_spec("/dev/root", "/dev/sda1"), "/dev/sda1");
  EXPECT_EQ(r.resolve_spec("/dev/vdb1", "/dev/sda1"), "/dev/sdb1");
  EXPECT_EQ(r.resolve_spec("/dev/xvda2", "/dev/sda1"), "/dev/sda2");
  EXPECT_EQ(r.resolve_spec("/dev/hdz9", "/dev/sda1"), "/dev/hdz9");  // kept as libguestfs keeps it
  EXPECT_EQ(r.resolve_spec("/dev/disk/by-uuid/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "/dev/sda1"), "/dev/sdb1");
  EXPECT_EQ(r.resolve_spec("/dev/disk/by-label/my\\x20data", "/dev/sda1"), "/dev/sdb1");
  EXPECT_EQ(r.resolve_spec("/dev/disk/by-partuuid/1234abcd-01", "/dev/sda1"), "/dev/sda1");
  EXPECT_EQ(r.resolve_spec("/dev/mapper/vg-root", "/dev/sda1"), "/dev/mapper/vg-root");
  EXPECT_EQ(r.resolve_spec("tmpfs", "/dev/sda1"), std::nullopt);
  EXPECT_EQ(r.resolve_spec("/dev/sdaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1", "/dev/sda1"),
            "/dev/sdaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1");
}

TEST(InspectFstab, ResolvesLogicalVolumes) {
  DeviceResolver r = test_resolver();
  ProbeResult p;
  p.type = "xfs";
  p.label = "lvroot";
  p.uuid = "f908899e-5a12-4079-9a5a-f85bd603f717";
  r.add_remote("/dev/my-vg/root", p);
  EXPECT_TRUE(r.is_remote("/dev/my-vg/root"));
  EXPECT_FALSE(r.is_remote("/dev/sda1"));
  // device-mapper doubles a '-' inside a name; the LV's canonical name wins.
  EXPECT_EQ(r.resolve_spec("/dev/mapper/my--vg-root", "/dev/sda1"), "/dev/my-vg/root");
  EXPECT_EQ(r.resolve_spec("/dev/my-vg/root", "/dev/sda1"), "/dev/my-vg/root");
  EXPECT_EQ(r.resolve_spec("UUID=F908899E-5A12-4079-9A5A-F85BD603F717", "/dev/sda1"), "/dev/my-vg/root");
  EXPECT_EQ(r.resolve_spec("LABEL=lvroot", "/dev/sda1"), "/dev/my-vg/root");
  // Not an LV the appliance reported, or not a VG-LV name: unchanged.
  EXPECT_EQ(r.resolve_spec("/dev/mapper/my-vg-root", "/dev/sda1"), "/dev/mapper/my-vg-root");
  EXPECT_EQ(r.resolve_spec("/dev/mapper/other-root", "/dev/sda1"), "/dev/mapper/other-root");
  EXPECT_EQ(r.resolve_spec("/dev/mapper/-", "/dev/sda1"), "/dev/mapper/-");
  EXPECT_EQ(r.resolve_spec("/dev/mapper/", "/dev/sda1"), "/dev/mapper/");
  EXPECT_EQ(r.describe("/dev/my-vg/root").type, "xfs");
}

TEST(InspectFstab, KeepsWhatLibguestfsKeeps) {
  DeviceResolver r = test_resolver();
  auto got = r.resolve_fstab(parse_fstab("/dev/sda1 / ext4 defaults 0 1\n"
                                         "UUID=66666666-7777-8888-9999-000000000000 none swap sw 0 0\n"
                                         "proc /proc proc defaults 0 0\n"
                                         "/dev/sdb1 /media/usb ext4 defaults 0 0\n"
                                         "/dev/cdrom /mnt/cd iso9660 ro 0 0\n"
                                         "/dev/fd0 /mnt/fd auto ro 0 0\n"
                                         "LABEL=root //var//lib/ ext4 defaults 0 0\n"),
                             "/dev/sda1");
  std::vector<std::pair<std::string, std::string>> want = {
      {"/dev/sda1", "/"}, {"/dev/sda2", "none"}, {"/dev/sda1", "/var/lib"}};
  EXPECT_EQ(got, want);
}

TEST(InspectParse, DpkgStatus) {
  auto apps = parse_dpkg_status(
      "Package: a\nStatus: install ok installed\nVersion: 1:2.3-4-5\nArchitecture: amd64\n"
      "Description: sum\n line1\n .\n line2\n\n"
      "Package: b\nStatus: install ok half-installed\nVersion: 1\n\n"
      "Package: c\nStatus: install ok installed\nVersion: x:1\n\n"
      "Package: d\nStatus: install ok installed\nVersion: 99999999999:1\n\n"
      "Package: e\nStatus: install ok installed\n\n"
      "Package: f\nStatus: install ok installed\nVersion: 7");
  ASSERT_EQ(apps.size(), 2u);
  EXPECT_EQ(apps[0].name, "a");
  EXPECT_EQ(apps[0].epoch, 1);
  EXPECT_EQ(apps[0].version, "2.3-4");
  EXPECT_EQ(apps[0].release, "5");
  EXPECT_EQ(apps[0].summary, "sum");
  EXPECT_EQ(apps[0].description, "line1\n.\nline2");
  EXPECT_EQ(apps[1].name, "f");  // no final blank line
  EXPECT_EQ(apps[1].version, "7");
}

TEST(InspectParse, PacmanAndApk) {
  auto p = parse_pacman_desc("%NAME%\nbash\n\n%VERSION%\n1:5.2.015-1\n\n%ARCH%\nx86_64\n\n%URL%\nhttps://x\n");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->epoch, 1);
  EXPECT_EQ(p->version, "5.2.015");
  EXPECT_EQ(p->release, "1");
  EXPECT_FALSE(parse_pacman_desc("%NAME%\nbash\n\n%VERSION%\n5.2\n\n%ARCH%\nx86_64\n"));
  auto a = parse_apk_installed("C:Q1=\nP:musl\nV:1.2.4-r2\nA:x86_64\nT:the C library\n\nP:x\n\n");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].release, "2");
  EXPECT_EQ(a[0].description, "the C library");
}

TEST(InspectParse, ElfArch) {
  std::byte h[64] = {};
  std::memcpy(h, "\x7f" "ELF", 4);
  h[4] = std::byte{2};
  h[5] = std::byte{1};
  store_le16(h + 16, 3);
  store_le16(h + 18, 62);
  EXPECT_EQ(elf_arch(h), "x86_64");
  store_le16(h + 18, 183);
  EXPECT_EQ(elf_arch(h), "aarch64");
  store_le16(h + 18, 21);
  EXPECT_EQ(elf_arch(h), "ppc64le");
  h[4] = std::byte{1};
  store_le16(h + 18, 3);
  EXPECT_EQ(elf_arch(h), "i386");
  store_le16(h + 16, 4);  // a core file
  EXPECT_EQ(elf_arch(h), "");
  EXPECT_EQ(elf_arch(std::span<const std::byte>(h, 10)), "");
}

// An rpm header blob with the given (tag, type, data) entries.
std::vector<std::byte> rpm_header(const std::vector<std::tuple<uint32_t, uint32_t, std::string>>& tags) {
  std::string data;
  std::vector<std::byte> out(8 + 16 * tags.size());
  for (size_t i = 0; i < tags.size(); ++i) {
    auto& [tag, type, bytes] = tags[i];
    if (type == 4)
      while (data.size() % 4) data += '\0';
    std::byte* e = out.data() + 8 + 16 * i;
    store_be32(e, tag);
    store_be32(e + 4, type);
    store_be32(e + 8, static_cast<uint32_t>(data.size()));
    store_be32(e + 12, 1);
    data += bytes;
  }
  store_be32(out.data(), static_cast<uint32_t>(tags.size()));
  store_be32(out.data() + 4, static_cast<uint32_t>(data.size()));
  for (char c : data) out.push_back(static_cast<std::byte>(c));
  return out;
}

TEST(InspectRpm, Header) {
  std::string epoch("\0\0\0\3", 4);
  auto blob = rpm_header({{1000, 6, std::string("bash\0", 5)},
                          {1001, 6, std::string("5.2.26\0", 7)},
                          {1002, 6, std::string("1.fc40\0", 7)},
                          {1003, 4, epoch},
                          {1004, 9, std::string("The shell\0Die Shell\0", 20)},
                          {1022, 6, std::string("x86_64\0", 7)}});
  auto app = parse_rpm_header(blob);
  ASSERT_TRUE(app) << app.error().message;
  EXPECT_EQ(app->name, "bash");
  EXPECT_EQ(app->epoch, 3);
  EXPECT_EQ(app->version, "5.2.26");
  EXPECT_EQ(app->release, "1.fc40");
  EXPECT_EQ(app->arch, "x86_64");
  EXPECT_EQ(app->summary, "The shell");
  EXPECT_EQ(app->url, "(none)");
  // Truncations and offsets outside the data never read out of bounds.
  for (size_t n = 0; n < blob.size(); ++n) (void)parse_rpm_header(std::span(blob.data(), n));
  auto bad = blob;
  store_be32(bad.data() + 8 + 8, 0xfffffff0);  // NAME's offset
  EXPECT_FALSE(parse_rpm_header(bad));
  auto noterm = rpm_header({{1000, 6, "bash"}});
  EXPECT_FALSE(parse_rpm_header(noterm));
  auto huge = blob;
  store_be32(huge.data(), 0x7fffffff);
  EXPECT_FALSE(parse_rpm_header(huge));
}

TEST(InspectRpm, NotSqlite) {
  EXPECT_FALSE(read_rpmdb_sqlite(std::string(4096, 'x'), "db"));
  std::string fake(4096, '\0');
  std::memcpy(fake.data(), "SQLite format 3", 16);
  EXPECT_FALSE(read_rpmdb_sqlite(fake, "db"));
}

}  // namespace
}  // namespace dk::fs::inspect
