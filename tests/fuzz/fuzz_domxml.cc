// Fuzzes the libvirt domain XML reader behind diskit run --domain and
// domxml-to-native: any bytes are parsed, and a document that parses is
// turned into the QEMU command line.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "appliance/vmm/domain.h"
#include "appliance/vmm/vm.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view xml(reinterpret_cast<const char*>(data), size);
  auto d = dk::vmm::parse_domain_xml(xml, "fuzz.xml");
  if (d) (void)dk::vmm::qemu_argv(d->config);
  return 0;
}
