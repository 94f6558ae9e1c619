// The string forms of the public enums (the reference's WebIDL enum values and error names).
#include "tcpsocket/errors.hpp"
#include "tcpsocket/events.hpp"
#include "tcpsocket/options.hpp"

namespace tcpsocket {

std::string_view toString(BinaryType type) noexcept {
  return type == BinaryType::String ? "string" : "arraybuffer";
}

std::string_view toString(ReadyState state) noexcept {
  switch (state) {
    case ReadyState::Connecting:
      return "connecting";
    case ReadyState::Open:
      return "open";
    case ReadyState::Closing:
      return "closing";
    case ReadyState::Closed:
      return "closed";
  }
  return "closed";
}

std::string_view toString(SocketEventType type) noexcept {
  switch (type) {
    case SocketEventType::Open:
      return "open";
    case SocketEventType::Data:
      return "data";
    case SocketEventType::Drain:
      return "drain";
    case SocketEventType::Error:
      return "error";
    case SocketEventType::Close:
      return "close";
    case SocketEventType::End:
      return "end";
  }
  return "error";
}

std::string_view toString(ServerEventType type) noexcept {
  return type == ServerEventType::Connect ? "connect" : "error";
}

std::string_view errorName(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::InvalidState:
      return "InvalidStateError";
    case ErrorKind::Type:
      return "TypeError";
    case ErrorKind::NotSupported:
      return "NotSupportedError";
    case ErrorKind::InvalidAddress:
      return "InvalidAddressError";
    case ErrorKind::AddressInUse:
      return "AddressInUseError";
    case ErrorKind::AddressNotAvailable:
      return "AddressNotAvailableError";
    case ErrorKind::PermissionDenied:
      return "PermissionDeniedError";
    case ErrorKind::Network:
      return "NetworkError";
    case ErrorKind::WrongThread:
      return "WrongThreadError";
    case ErrorKind::Security:
      return "SecurityError";
    case ErrorKind::Manifest:
      return "ManifestError";
    case ErrorKind::TlsConfiguration:
      return "TLSConfigurationError";
  }
  return "Error";
}

Error::Error(ErrorKind kind, const std::string& message)
    : std::runtime_error(message), kind_(kind) {}

}  // namespace tcpsocket
