// Events fired by TCPSocket and TCPServerSocket.
//
// Every event is delivered on the thread running the socket's EventLoop, never from inside the
// call that caused it (a close() or send() returns before any event it triggers is fired).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <system_error>
#include <variant>

#include "tcpsocket/export.hpp"
#include "tcpsocket/tcp_socket_fwd.hpp"

namespace tcpsocket {

/// The five events of a TCPSocket, and `end` (beyond the reference: the peer finished sending;
/// fired only with ConnectionOptions::allowHalfOpen).
enum class SocketEventType { Open, Data, Drain, Error, Close, End };

/// The events of a TCPServerSocket.
enum class ServerEventType { Connect, Error };

TCPSOCKET_API std::string_view toString(SocketEventType type) noexcept;  ///< "open", "data", ...
TCPSOCKET_API std::string_view toString(ServerEventType type) noexcept;  ///< "connect", "error"

/// Received bytes in "arraybuffer" mode.
using ArrayBuffer = std::span<const std::uint8_t>;

/// `event.data`: `std::monostate` (the reference's `undefined`) for open, drain, error and close;
/// for `data`, a `std::string_view` of Latin-1 bytes when binaryType is "string", or an
/// `ArrayBuffer` when it is "arraybuffer".
///
/// The view is valid only while the listener runs (it points into a read buffer the loop reuses):
/// copy what you keep.
using EventData = std::variant<std::monostate, std::string_view, ArrayBuffer>;

/// The event object given to TCPSocket listeners (TCPSocketEvent / TCPSocketErrorEvent).
struct TCPSOCKET_API TCPSocketEvent {
  SocketEventType type;
  TCPSocket& target;  ///< The socket the event is fired at.
  EventData data;     ///< See EventData.
  /// For `error` only: the reference's error name ("ConnectionRefusedError", "NetworkError", ...)
  /// and its class as message ("Network", "SecurityCertificate", "SecurityProtocol").
  std::string_view name;
  std::string_view message;
  /// For `error` (beyond the reference): the failure below the name, or an empty code when none
  /// failed (a policy denial, BufferOverflowError). Its category says which layer:
  /// - `std::system_category()`: an errno (ECONNRESET behind "NetworkError", ECONNREFUSED...);
  /// - "asio.netdb"/"asio.addrinfo": the resolver's answer behind "DomainNotFoundError";
  /// - "openssl": OpenSSL's error code; `cause.message()` is its reason ("wrong version number");
  /// - "x509": the certificate verification result; `cause.message()` says what was wrong
  ///   ("certificate has expired").
  std::error_code cause{};
};

/// The event object given to TCPServerSocket listeners.
struct TCPSOCKET_API TCPServerSocketEvent {
  ServerEventType type;
  TCPServerSocket& target;
  /// For `connect`: the accepted socket, already "open" (it never receives an `open` event).
  /// For `error`: an empty handle.
  TCPSocket& socket;
  /// For `error` (beyond the reference, whose server error carries nothing): why listening stopped.
  std::string_view name;
  std::string_view message;
  std::error_code cause{};  ///< For `error`: the errno accept() failed with.
};

using SocketEventHandler = std::function<void(const TCPSocketEvent&)>;
using ServerEventHandler = std::function<void(const TCPServerSocketEvent&)>;

/// Beyond the reference: listeners shared by many sockets — every socket a server accepts
/// (ServerSocketOptions::handlers) — held once instead of once per socket, which matters when
/// connections are many and mostly idle. They run before the socket's own listeners, as if
/// registered first, and cannot be removed from one socket; `event.target` says which socket.
/// Empty members are skipped.
struct TCPSOCKET_API SocketHandlers {
  SocketEventHandler ondata;
  SocketEventHandler ondrain;
  SocketEventHandler onerror;
  SocketEventHandler onclose;
  SocketEventHandler onend;

  const SocketEventHandler* forType(SocketEventType type) const noexcept {
    switch (type) {
      case SocketEventType::Data:
        return &ondata;
      case SocketEventType::Drain:
        return &ondrain;
      case SocketEventType::Error:
        return &onerror;
      case SocketEventType::Close:
        return &onclose;
      case SocketEventType::End:
        return &onend;
      case SocketEventType::Open:
        break;  // accepted sockets never get `open`
    }
    return nullptr;
  }
};

/// Returned by addEventListener; pass it to removeEventListener.
using ListenerId = std::uint64_t;

}  // namespace tcpsocket
