// TCPServerSocket: a listening socket that hands out accepted TCPSockets.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "tcpsocket/events.hpp"
#include "tcpsocket/export.hpp"
#include "tcpsocket/options.hpp"

namespace tcpsocket {

namespace detail {
class ServerImpl;
}

/// Counters of a server (beyond the reference), for monitoring and tests.
struct TCPSOCKET_API ServerStats {
  std::uint64_t accepted = 0;  ///< connections handed out through `connect`
  std::uint32_t open = 0;      ///< accepted connections not yet closed
  /// Closed connections whose descriptor is kept until the peer has taken our last bytes and sent
  /// its FIN (at most 10 s; see TCPSocket::close). They count toward maxConnections.
  std::uint32_t lingering = 0;
  std::uint64_t refusedPerAddress = 0;   ///< reset at once by maxConnectionsPerAddress
  std::uint64_t pausesAtLimit = 0;       ///< times accepting paused at maxConnections
  std::uint64_t descriptorBackoffs = 0;  ///< times accepting paused: out of descriptors/memory
  std::uint64_t handshakeFailures = 0;   ///< TLS clients dropped before their handshake completed
  std::uint64_t proxyHeadersAccepted =
      0;  ///< PROXY headers taken (ServerSocketOptions::proxyProtocol)
  /// Connections reset for their PROXY header ("ProxyProtocolError": malformed, missing where
  /// required, from an untrusted source, or not complete within tls.handshakeTimeout).
  std::uint64_t proxyHeadersRefused = 0;
  bool paused = false;  ///< not accepting right now (at the limit or backing off)
};

/// A handle to one listening socket. Copies refer to the same listener.
///
/// @par Events
/// - `connect`: one per accepted connection (for a TLS server: once its handshake has completed);
///   `event.socket` is "open", its host/port are the peer's
///   and its binaryType is the server's. If no listener keeps it, it stays open until closed.
/// - `error`: listening stopped for a reason other than close() (the listener is then closed).
///
/// @par Thread safety
/// Every method must be called on the loop's thread (see EventLoop).
class TCPSOCKET_API TCPServerSocket {
 public:
  TCPServerSocket() noexcept;
  ~TCPServerSocket();
  TCPServerSocket(const TCPServerSocket&) noexcept;
  TCPServerSocket& operator=(const TCPServerSocket&) noexcept;
  TCPServerSocket(TCPServerSocket&&) noexcept;
  TCPServerSocket& operator=(TCPServerSocket&&) noexcept;

  /// Binds `options.localAddress`:`port` (SO_REUSEADDR, as the reference) and listens.
  /// Port 0 lets the system pick one; `localPort()` tells which. `backlog` 0 means the system's
  /// default (SOMAXCONN) — unlike the reference, where 0 reached listen() and dropped connections
  /// under load.
  /// Throws, synchronously: InvalidAddressError, AddressInUseError, AddressNotAvailableError,
  /// PermissionDeniedError or NetworkError, each naming the address.
  static TCPServerSocket listen(EventLoop& loop, std::uint16_t port,
                                const ServerSocketOptions& options = {}, std::uint16_t backlog = 0);

  /// Beyond the reference: a server on a descriptor that is already listening — one systemd
  /// passed by socket activation (LISTEN_FDS), or one a previous process handed over for a
  /// restart that refuses no connection. `options` apply as for listen(), except localAddress,
  /// reusePort and ipv6Only (the descriptor's own stay). On success the descriptor is the
  /// server's (made close-on-exec and non-blocking; close() closes it). Throws TypeError, and
  /// leaves the descriptor untouched, unless it is a listening TCP socket; SecurityError if the
  /// app policy may not listen on its port.
  static TCPServerSocket adopt(EventLoop& loop, int fd, const ServerSocketOptions& options = {});

  /// The port actually bound.
  std::uint16_t localPort() const;

  /// Stops listening. Idempotent, fires no event; already accepted sockets stay open.
  void close();

  /// Beyond the reference: a graceful shutdown with a deadline. Stops listening at once; accepted
  /// connections keep working (reading, and answering through their listeners) until each has been
  /// quiet for `quietPeriod` — nothing received, nothing queued to send, nothing unread in the
  /// kernel — and is then close()d (FIN). Connections still busy when `deadline` passes are reset
  /// (RST, as abortConnections()), never ended with a FIN: a peer cut short can tell. Clients still
  /// in their TLS handshake or PROXY header may finish it (a restart must fail nobody) and are then
  /// drained as the others; at the deadline they are reset too. `done` runs (on the loop, never
  /// inside this call) once no accepted connection is left open. Accepted sockets fire their events
  /// as usual.
  void drain(std::chrono::milliseconds deadline, std::function<void()> done = {},
             std::chrono::milliseconds quietPeriod = kDrainQuietPeriod);
  /// How long drain() waits for a connection to stay silent before closing it.
  static constexpr std::chrono::milliseconds kDrainQuietPeriod{200};
  /// Beyond the reference: resets (RST) every accepted connection still open, now; each fires
  /// `close`. Listening goes on (call close() too for a full stop).
  void abortConnections();
  ServerStats stats() const;
  /// Beyond the reference: handles to the accepted connections still open, in no particular
  /// order — how to reach a connection whose handles were all dropped (it stays open until closed).
  /// A TLS client still in its handshake is not among them: it has not fired `connect` yet.
  std::vector<TCPSocket> connections() const;

  void onconnect(ServerEventHandler handler);
  void onerror(ServerEventHandler handler);
  ListenerId addEventListener(ServerEventType type, ServerEventHandler handler);
  void removeEventListener(ListenerId id);

  /// The listening file descriptor (-1 once closed). Do not close it.
  int nativeHandle() const;

  explicit operator bool() const noexcept { return impl_ != nullptr; }
  friend bool operator==(const TCPServerSocket& a, const TCPServerSocket& b) noexcept {
    return a.impl_ == b.impl_;
  }

 private:
  friend struct detail::Access;
  explicit TCPServerSocket(std::shared_ptr<detail::ServerImpl> impl) noexcept;
  detail::ServerImpl& impl() const;
  std::shared_ptr<detail::ServerImpl> impl_;
};

}  // namespace tcpsocket
