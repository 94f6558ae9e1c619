// Exceptions thrown by tcpsocket calls.
//
// Failures that happen *during* a call (a bad argument, a call in the wrong readyState, a listen
// that cannot bind) throw one of these, named after the failure. Failures that happen later, on the
// network, never throw: they arrive as an `error` event (see events.hpp) followed by `close`.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include "tcpsocket/export.hpp"

namespace tcpsocket {

/// What went wrong; `errorName(kind)` is the name the exception reports.
enum class ErrorKind {
  InvalidState,    ///< "InvalidStateError": the call is not allowed in the current readyState.
  Type,            ///< "TypeError": an argument has the wrong form (e.g. a non-Latin-1 string).
  NotSupported,    ///< "NotSupportedError": the feature is not available in this build.
  InvalidAddress,  ///< "InvalidAddressError": a local address that is not an IP literal.
  AddressInUse,    ///< "AddressInUseError": listen() on a port already taken.
  AddressNotAvailable,  ///< "AddressNotAvailableError": listen() on an address this host lacks.
  PermissionDenied,  ///< "PermissionDeniedError": the operating system refused (e.g. port < 1024).
  Network,           ///< "NetworkError": any other failure of the operating system.
  WrongThread,       ///< "WrongThreadError": a socket was used from a thread other than its loop's.
  Security,          ///< "SecurityError": the app's policy (AppPolicy) does not allow the call.
  Manifest,          ///< "ManifestError": an app manifest is malformed (file, position and field in
                     ///< what()).
  TlsConfiguration,  ///< "TLSConfigurationError": TlsOptions that cannot be used (an unreadable
                     ///< certificate or key file, a key that does not match, a malformed pin).
};

/// The reference-style name of an error kind, e.g. "InvalidStateError".
TCPSOCKET_API std::string_view errorName(ErrorKind kind) noexcept;

/// Base of every exception this library throws. `what()` is the human-readable explanation.
class TCPSOCKET_API Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message, std::error_code cause = {});
  ErrorKind kind() const noexcept { return kind_; }
  std::string_view name() const noexcept { return errorName(kind_); }
  /// The operating system's error behind the exception (e.g. EADDRINUSE for AddressInUseError,
  /// in std::system_category()), or an empty code when no system call failed.
  std::error_code cause() const noexcept { return cause_; }

 private:
  ErrorKind kind_;
  std::error_code cause_;
};

/// One exception type per kind, so callers can catch exactly what they expect:
/// `catch (const tcpsocket::InvalidStateError&)`.
template <ErrorKind K>
class TCPSOCKET_API NamedError : public Error {
 public:
  explicit NamedError(const std::string& message, std::error_code cause = {})
      : Error(K, message, cause) {}
};

using InvalidStateError = NamedError<ErrorKind::InvalidState>;
using TypeError = NamedError<ErrorKind::Type>;
using NotSupportedError = NamedError<ErrorKind::NotSupported>;
using InvalidAddressError = NamedError<ErrorKind::InvalidAddress>;
using AddressInUseError = NamedError<ErrorKind::AddressInUse>;
using AddressNotAvailableError = NamedError<ErrorKind::AddressNotAvailable>;
using PermissionDeniedError = NamedError<ErrorKind::PermissionDenied>;
using NetworkError = NamedError<ErrorKind::Network>;
using WrongThreadError = NamedError<ErrorKind::WrongThread>;
using SecurityError = NamedError<ErrorKind::Security>;
using ManifestError = NamedError<ErrorKind::Manifest>;
using TlsConfigurationError = NamedError<ErrorKind::TlsConfiguration>;

/// Throws what TCPServerSocket::listen throws when binding or listening on `where` ("host:port")
/// fails with `cause`: AddressInUseError for EADDRINUSE, AddressNotAvailableError for
/// EADDRNOTAVAIL, PermissionDeniedError for EACCES/EPERM, NetworkError otherwise. For programs
/// that bind descriptors of their own and want the same names.
[[noreturn]] TCPSOCKET_API void throwListenError(const std::error_code& cause,
                                                 std::string_view where);

}  // namespace tcpsocket
