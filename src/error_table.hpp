// Every error name the library reports, and the cause behind it, in one place.
//
// A failure on the network becomes an `error` event whose name is the reference's
// (docs/reference.md §6.1): the operating system's errno, a resolver failure, or OpenSSL's
// verdict goes in, the (name, class) pair comes out, and the cause itself travels along so that
// a user who sees "NetworkError" can also see the ECONNRESET or the certificate reason behind it.
// The exceptions' names (ErrorKind) and the listen failures are mapped here too.
#pragma once

#include <string_view>
#include <system_error>

namespace tcpsocket::detail {

/// The (name, message) pair of an `error` event, and its cause. `message` is the error's class.
struct ErrorInfo {
  std::string_view name;
  std::string_view message;
  /// errno (system category), a resolver error, OpenSSL's error (tlsCategory()) or certificate
  /// verification result (certificateCategory()); empty when no lower layer failed.
  std::error_code cause{};
};

/// An errno value seen on a socket.
ErrorInfo classifyErrno(int err) noexcept;
/// Any error from connecting or resolving, including resolver (netdb/addrinfo) errors.
ErrorInfo classifyError(const std::error_code& ec) noexcept;
/// The host name could not be resolved.
ErrorInfo domainNotFound(std::error_code cause = {}) noexcept;
/// The app policy allows none of the addresses (name "SecurityError", class "SecurityPolicy").
ErrorInfo policyDenied() noexcept;
/// ConnectionOptions::maxBufferedAmount was exceeded ("BufferOverflowError", class "Network").
ErrorInfo bufferOverflow() noexcept;
/// The stream ended where it must not: inside a TLS record or handshake.
ErrorInfo streamInterrupted() noexcept;

/// A failed certificate verification (an X509_V_ERR_* code).
ErrorInfo classifyVerifyResult(long verifyResult) noexcept;
/// A failure reported by OpenSSL's error queue (ERR_get_error()): alerts, versions, protocol.
ErrorInfo classifyTlsError(unsigned long errorCode) noexcept;
/// The peer's public key matched none of the pins.
ErrorInfo pinMismatch() noexcept;
/// The name to check the server's certificate against cannot be checked (empty, malformed).
ErrorInfo uncheckableName() noexcept;
/// OpenSSL could not allocate a session.
ErrorInfo tlsOutOfMemory() noexcept;

/// The categories of ErrorInfo::cause for TLS failures; message() is OpenSSL's own text.
const std::error_category& tlsCategory() noexcept;
const std::error_category& certificateCategory() noexcept;

}  // namespace tcpsocket::detail
