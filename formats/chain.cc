// TEMPORARY placeholder.
#include "formats/chain.h"
namespace dk::fmt {
Result<std::unique_ptr<Layer>> open_image(const std::string&, const std::string&, const OpenOptions&) { return make_error(ENOTSUP, "todo"); }
Result<std::unique_ptr<Layer>> open_chain(const std::string&, const ChainOptions&) { return make_error(ENOTSUP, "todo"); }
}
