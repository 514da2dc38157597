#include "tools/guest_args.h"

#include "tools/fish/cmd_appliance.h"

namespace dk::tools {

void add_guest_options(CLI::App& app, GuestOptions& o, bool with_mounts) {
  o.image_opt = app.add_option("-a,--add", o.images, "Disk image of the guest (repeatable; /dev/sda, /dev/sdb, ... in order)")
                    ->required()
                    ->allow_extra_args(false);
  o.format_opt = app.add_option("--format", o.formats, "Format of the -a images that follow (auto: probe)")
                     ->allow_extra_args(false);
  if (with_mounts)
    app.add_option("-m,--mount", o.mounts, "Mount DEV at MOUNTPOINT (default /) instead of inspecting")
        ->allow_extra_args(false);
}

Result<std::vector<fs::DiskSpec>> disk_specs(const CLI::App& app, const GuestOptions& o) {
  std::vector<fs::DiskSpec> out;
  size_t next_image = 0, next_format = 0;
  std::string current;
  for (const CLI::Option* opt : app.parse_order()) {
    if (opt == o.format_opt && next_format < o.formats.size()) {
      current = o.formats[next_format++];
      if (current == "auto") current.clear();
    } else if (opt == o.image_opt && next_image < o.images.size()) {
      out.push_back({o.images[next_image++], current});
    }
  }
  // Values CLI11 gathered without a recorded position (defensive).
  while (next_image < o.images.size()) out.push_back({o.images[next_image++], current});
  if (out.empty()) return make_error(EINVAL, "no disk given: use -a IMAGE");
  return out;
}

Result<std::unique_ptr<fs::Guest>> open_guest(const CLI::App& app, const GuestOptions& o, bool writable) {
  auto specs = DK_TRY(disk_specs(app, o));
  // Reading tools reach xfs, btrfs, LVs ... through the appliance.
  if (!writable) fish::install_tool_mounter(specs);
  return fs::Guest::open(specs, writable);
}

Result<void> mount_guest(fs::GuestMounts& mounts, const GuestOptions& o, bool writable) {
  fs::MountOptions mo;
  mo.writable = writable;
  if (o.mounts.empty()) return mounts.mount_inspected(mo);
  for (const std::string& m : o.mounts) {
    // DEV[:MOUNTPOINT[:OPTIONS[:FSTYPE]]]; options and type are accepted and ignored for now.
    size_t colon = m.find(':');
    std::string dev = m.substr(0, colon);
    std::string mp = "/";
    if (colon != std::string::npos) {
      std::string rest = m.substr(colon + 1);
      mp = rest.substr(0, rest.find(':'));
      if (mp.empty()) mp = "/";
    }
    DK_TRY(mounts.mount(dev, mp, mo));
  }
  return {};
}

Result<MountedGuest> open_mounted(const CLI::App& app, const GuestOptions& o, bool writable) {
  MountedGuest m;
  m.guest = DK_TRY(open_guest(app, o, writable));
  m.mounts = std::make_unique<fs::GuestMounts>(*m.guest);
  DK_TRY(mount_guest(*m.mounts, o, writable));
  return m;
}

std::string display_name(const GuestOptions& o) {
  if (o.images.empty()) return "";
  const std::string& last = o.images.back();
  size_t slash = last.rfind('/');
  return slash == std::string::npos ? last : last.substr(slash + 1);
}

}  // namespace dk::tools
