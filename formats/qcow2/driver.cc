// TEMPORARY placeholder, replaced by the raw driver.
#include "formats/driver.h"
namespace dk::fmt {
namespace {
int probe(std::span<const std::byte>, std::string_view) { return 0; }
Result<std::unique_ptr<Layer>> open(const std::string&, const OpenOptions&) { return make_error(ENOTSUP, "qcow2: todo"); }
Result<void> create(const std::string&, const CreateSpec&) { return make_error(ENOTSUP, "qcow2: todo"); }
}
extern const FormatDriver kQcow2Driver = {"qcow2", probe, open, create, {}, true};
}
