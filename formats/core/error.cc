#include "formats/core/error.h"

#include <cstring>

namespace dk {

tl::unexpected<Error> errno_error(std::string_view what, int err) {
  return make_error(err, std::string(what) + ": " + std::strerror(err));
}

}  // namespace dk
