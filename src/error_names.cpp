#include "error_names.hpp"

#include <asio/error.hpp>
#include <cerrno>

namespace tcpsocket::detail {
namespace {
constexpr std::string_view kNetwork = "Network";
}

ErrorInfo domainNotFound() noexcept { return {"DomainNotFoundError", kNetwork}; }
ErrorInfo policyDenied() noexcept { return {"SecurityError", "SecurityPolicy"}; }
ErrorInfo bufferOverflow() noexcept { return {"BufferOverflowError", kNetwork}; }

// The grouping follows how the reference's network layer folds NSPR errors into its few codes:
// unreachable networks and refused access count as "refused", resets as plain network errors.
ErrorInfo classifyErrno(int err) noexcept {
  switch (err) {
    case ECONNREFUSED:
    case ENETUNREACH:
    case EHOSTUNREACH:
    case EADDRNOTAVAIL:
    case EACCES:
      return {"ConnectionRefusedError", kNetwork};
    case ETIMEDOUT:
      return {"NetworkTimeoutError", kNetwork};
    default:
      return {"NetworkError", kNetwork};
  }
}

ErrorInfo classifyError(const std::error_code& ec) noexcept {
  if (ec.category() == asio::error::get_netdb_category() ||
      ec.category() == asio::error::get_addrinfo_category()) {
    return domainNotFound();
  }
  if (ec == asio::error::eof) return {"NetworkInterruptError", kNetwork};
  return classifyErrno(ec.value());
}

}  // namespace tcpsocket::detail
