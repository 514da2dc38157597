// TEMPORARY placeholder, replaced by the raw driver.
#include "formats/driver.h"
namespace dk::fmt {
namespace {
int probe(std::span<const std::byte>, std::string_view) { return 1; }
Result<std::unique_ptr<Layer>> open(const std::string&, const OpenOptions&) { return make_error(ENOTSUP, "raw: todo"); }
Result<void> create(const std::string&, const CreateSpec&) { return make_error(ENOTSUP, "raw: todo"); }
}
extern const FormatDriver kRawDriver = {"raw", probe, open, create, {}, false};
}
