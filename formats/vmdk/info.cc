// qemu-img info's format-specific data for VMDK, probing, and the driver
// table.
#include <cstring>

#include "formats/core/endian.h"
#include "formats/vmdk/vmdk.h"

namespace dk::fmt::vmdk {

// QAPI order of ImageInfoSpecificVmdk and, per extent, of ImageInfo (the
// JSON printer derives QEMU's output order from it). Like QEMU: cluster-size
// only for sparse extents, compressed only when true.
nlohmann::ordered_json VmdkLayer::format_specific() const {
  nlohmann::ordered_json d = nlohmann::ordered_json::object();
  d["create-type"] = m_desc.create_type;
  d["cid"] = m_desc.cid;
  d["parent-cid"] = m_desc.parent_cid;
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& e : m_extents) {
    nlohmann::ordered_json x = nlohmann::ordered_json::object();
    x["filename"] = e->path();
    x["format"] = e->type_name;
    x["virtual-size"] = e->length();
    if (auto g = e->grain_bytes()) x["cluster-size"] = *g;
    if (e->compressed()) x["compressed"] = true;
    list.push_back(std::move(x));
  }
  d["extents"] = std::move(list);
  return d;
}

namespace {

// QEMU's vmdk_probe: the sparse magics, or a text descriptor.
int probe(std::span<const std::byte> head, std::string_view) {
  if (head.size() >= 4) {
    uint32_t magic = load_le32(head.data());
    if (magic == kSparseMagic || magic == kCowdMagic) return 100;
  }
  std::string_view text(reinterpret_cast<const char*>(head.data()), head.size());
  size_t p = text.find_first_not_of(" \t\r\n");
  if (p != std::string_view::npos && text.substr(p).starts_with("# Disk DescriptorFile")) return 100;
  return 0;
}

constexpr OptionDesc kCreateOptions[] = {
    {"adapter_type", "str",
     "Virtual adapter type, can be one of ide (default), lsilogic, buslogic or legacyESX", ""},
    {"backing_file", "str", "File name of a base image", ""},
    {"backing_fmt", "str", "Must be 'vmdk' if present", ""},
    {"compat6", "bool", "VMDK version 6 image", "off"},
    {"hwversion", "str", "VMDK hardware version", "undefined"},
    {"size", "size", "Virtual disk size", ""},
    {"subformat", "str",
     "VMDK flat extent format, can be one of {monolithicSparse (default) | monolithicFlat | "
     "twoGbMaxExtentSparse | twoGbMaxExtentFlat | streamOptimized} ",
     ""},
    {"toolsversion", "str", "VMware guest tools version", ""},
    {"zeroed_grain", "bool", "Enable efficient zero writes using the zeroed-grain GTE feature", ""},
};

}  // namespace

}  // namespace dk::fmt::vmdk

namespace dk::fmt {
extern const FormatDriver kVmdkDriver = {"vmdk", vmdk::probe, vmdk::open_vmdk, vmdk::create_vmdk,
                                         vmdk::kCreateOptions, true};
}  // namespace dk::fmt
