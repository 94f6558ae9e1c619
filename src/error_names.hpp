// Maps operating-system failures to the reference's error event names (§6.1 of the reference).
#pragma once

#include <string_view>
#include <system_error>

namespace tcpsocket::detail {

/// The (name, message) pair of an `error` event. `message` is the error's class.
struct ErrorInfo {
  std::string_view name;
  std::string_view message;
};

/// An errno value (or a system-category std::error_code) seen on a socket.
ErrorInfo classifyErrno(int err) noexcept;
/// Any error from connecting or resolving, including resolver (netdb/addrinfo) errors.
ErrorInfo classifyError(const std::error_code& ec) noexcept;
/// The host name could not be resolved.
ErrorInfo domainNotFound() noexcept;
/// The app policy allows none of the addresses (name "SecurityError", class "SecurityPolicy").
ErrorInfo policyDenied() noexcept;
/// ConnectionOptions::maxBufferedAmount was exceeded ("BufferOverflowError", class "Network").
ErrorInfo bufferOverflow() noexcept;

}  // namespace tcpsocket::detail
