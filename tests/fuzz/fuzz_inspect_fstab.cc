// Fuzz target: fstab parsing and device resolution against a fixed guest
// (two disks, a few partitions with labels, UUIDs and PARTUUIDs).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fs/inspect/fstab.h"
#include "fs/inspect/parse.h"

using dk::fs::inspect::DeviceResolver;

static DeviceResolver make_resolver() {
  auto cand = [](const char* name, const char* type, const char* label, const char* uuid) {
    DeviceResolver::Candidate c;
    c.dev.name = name;
    c.probe.type = type;
    c.probe.label = label;
    c.probe.uuid = uuid;
    return c;
  };
  return DeviceResolver({"/dev/sda", "/dev/sdb"},
                        {{"/dev/sda1", "0badcafe-01", "root"}, {"/dev/sda2", "0badcafe-02", "swap"},
                         {"/dev/sdb1", "5e1f0000-0000-4000-8000-000000000001", "data"}},
                        {cand("/dev/sda1", "ext4", "root", "11111111-2222-3333-4444-555555555555"),
                         cand("/dev/sda2", "swap", "", "66666666-7777-8888-9999-000000000000"),
                         cand("/dev/sdb1", "vfat", "DATA", "ABCD-1234")});
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const DeviceResolver resolver = make_resolver();
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto entries = dk::fs::inspect::parse_fstab(text);
  auto resolved = resolver.resolve_fstab(entries, "/dev/sda1");
  if (resolved.size() > entries.size()) __builtin_trap();
  for (auto& [dev, mp] : resolved) {
    (void)resolver.describe(dev);
    if (!mp.empty() && mp[0] == '/' && dk::fs::inspect::canonical_path(mp) != mp) __builtin_trap();
  }
  return 0;
}
