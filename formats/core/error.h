// Error and Result<T>: the error type every fallible function in diskit returns.
#pragma once

#include <cerrno>
#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace dk {

// An errno-style code plus a human message. The function that detects the
// failure writes the message; callers prepend context with with_context().
struct Error {
  int code = EIO;
  std::string message;

  // Returns a copy whose message reads "<ctx>: <message>".
  Error with_context(std::string_view ctx) const {
    return Error{code, std::string(ctx) + ": " + message};
  }
};

// Result<T> is tl::expected<T, Error> marked [[nodiscard]] so an ignored
// failure is a compiler warning.
template <class T>
class [[nodiscard]] Result : public tl::expected<T, Error> {
 public:
  using tl::expected<T, Error>::expected;
  Result(tl::expected<T, Error>&& e) : tl::expected<T, Error>(std::move(e)) {}
  Result(const tl::expected<T, Error>& e) : tl::expected<T, Error>(e) {}
};

inline tl::unexpected<Error> make_error(int code, std::string message) {
  return tl::unexpected<Error>(Error{code, std::move(message)});
}

inline tl::unexpected<Error> make_error(Error e) { return tl::unexpected<Error>(std::move(e)); }

// errno-based error: "<what>: <strerror(errno)>".
tl::unexpected<Error> errno_error(std::string_view what, int err = errno);

namespace detail {
template <class T>
T take_value(tl::expected<T, Error>&& r) { return std::move(*r); }
inline void take_value(tl::expected<void, Error>&&) {}
}  // namespace detail

}  // namespace dk

// DK_TRY(expr): evaluates a Result; on failure returns its error from the
// enclosing function, otherwise yields the value (void for Result<void>).
#define DK_TRY(expr)                                              \
  ({                                                              \
    auto&& dk_try_result_ = (expr);                               \
    if (!dk_try_result_)                                          \
      return ::tl::unexpected<::dk::Error>(                       \
          std::move(dk_try_result_).error());                     \
    ::dk::detail::take_value(std::move(dk_try_result_));                            \
  })

// DK_TRY_CTX(expr, ctx): like DK_TRY but prefixes the error message with ctx.
#define DK_TRY_CTX(expr, ctx)                                     \
  ({                                                              \
    auto&& dk_try_result_ = (expr);                               \
    if (!dk_try_result_)                                          \
      return ::tl::unexpected<::dk::Error>(                       \
          dk_try_result_.error().with_context(ctx));              \
    ::dk::detail::take_value(std::move(dk_try_result_));                            \
  })
