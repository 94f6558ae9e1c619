// TCPSocket: a TCP connection with the Firefox OS TCP Socket API.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "tcpsocket/events.hpp"
#include "tcpsocket/export.hpp"
#include "tcpsocket/options.hpp"

namespace tcpsocket {

namespace detail {
class SocketImpl;
}

/// A handle to one TCP connection. Handles are cheap to copy; all copies refer to the same
/// connection, as JavaScript references do. A default-constructed handle refers to nothing.
///
/// @par Events (in the order the reference fires them)
/// - `open`: the connection is established (readyState is already "open"). Sockets accepted by a
///   TCPServerSocket start "open" and never get it.
/// - `data`: bytes arrived; chunk boundaries are arbitrary. Held back while suspended.
/// - `drain`: fired once when the send buffer has been fully written to the operating system after
///   a send() returned false. `bufferedAmount` is 0 inside it. Precedes `close`.
/// - `error`: a failure, with `name` and `message` (see TCPSocketEvent). readyState is already
///   "closed" inside it, and it is always followed by exactly one `close`.
/// - `close`: the last event, fired exactly once (after a local close() has flushed every queued
///   byte, a peer close, or an error). No event follows it and all listeners are released after it.
///
/// @par Thread safety
/// Every method must be called on the loop's thread (see EventLoop).
class TCPSOCKET_API TCPSocket {
 public:
  TCPSocket() noexcept;
  ~TCPSocket();
  TCPSocket(const TCPSocket&) noexcept;
  TCPSocket& operator=(const TCPSocket&) noexcept;
  TCPSocket(TCPSocket&&) noexcept;
  TCPSocket& operator=(TCPSocket&&) noexcept;

  /// Starts connecting to `host` (a name, resolved asynchronously, or an IPv4/IPv6 literal) on
  /// `port`. Returns at once with readyState "connecting"; a bad or unknown host is reported as an
  /// `error` event, never thrown. With useSecureTransport, `open` fires after the TLS handshake,
  /// and a failed handshake is `error` (a Security* name, see docs/tls.md) then `close`.
  /// Throws TlsConfigurationError for unusable options.tls.
  static TCPSocket open(EventLoop& loop, std::string_view host, std::uint16_t port,
                        const SocketOptions& options = {});

  /// The host given to open(), or the peer's address for an accepted socket.
  const std::string& host() const;
  /// The port given to open(), or the peer's port for an accepted socket.
  std::uint16_t port() const;

  /// @name Beyond the reference: the two ends and the bytes moved (Node's names)
  /// @{
  /// The peer's address as an IP literal (host() may be a name; an IPv4 peer of a dual-stack
  /// server is "1.2.3.4", not "::ffff:1.2.3.4"), and its port; "" and 0 until connected.
  std::string remoteAddress() const;
  std::uint16_t remotePort() const;
  /// This end, as the kernel bound it (for a client, the address and ephemeral port it got; see
  /// SocketOptions::localAddress); "" and 0 before connecting and once the descriptor is closed.
  std::string localAddress() const;
  std::uint16_t localPort() const;
  /// Bytes delivered to `data` listeners, and bytes the writer handed to the kernel (with TLS:
  /// application bytes, before encryption), since the socket was made. Kept after `close`.
  std::uint64_t bytesRead() const noexcept;
  std::uint64_t bytesWritten() const noexcept;
  /// @}
  /// True for TLS sockets: from the start (useSecureTransport, or accepted by a TLS server), or
  /// from the moment upgradeToSecure() is called, before its handshake has completed.
  bool ssl() const;
  /// The ALPN protocol agreed on in the TLS handshake; empty if none (or not TLS).
  std::string alpnProtocol() const;
  /// Beyond the reference: for a connection accepted behind a load balancer
  /// (ServerSocketOptions::proxyProtocol), what its PROXY header said: the balancer's address,
  /// the client's destination, the TLVs. Empty for any other socket.
  std::optional<ProxyInfo> proxyInfo() const;
  /// Bytes accepted by send() and not yet written to the operating system.
  std::uint64_t bufferedAmount() const;
  ReadyState readyState() const;
  BinaryType binaryType() const;

  /// Queues `data` (a byte string: each char is one byte, NULs included) for sending.
  /// Returns false when `bufferedAmount + data.size() > 65536` (the reference's full-buffer rule):
  /// the data is queued all the same, and a `drain` event follows once the buffer is empty.
  /// Also returns false, queuing nothing, when the socket is failing and no byte will be sent:
  /// an earlier write failed (its `error` is on the way), or this send would go past
  /// ConnectionOptions::maxBufferedAmount (the connection is reset with BufferOverflowError).
  /// Throws InvalidStateError unless "open".
  bool send(std::string_view data);
  /// The ByteString overload for UTF-16 text: every code unit must be <= 0xFF and becomes one byte;
  /// otherwise throws TypeError and sends nothing.
  bool send(std::u16string_view data);
  /// The binary overload. Sends `data[min(len, byteOffset) .. + min(len - offset, byteLength)]`,
  /// but counts the *unclamped* `byteLength` (default: the whole length) for the full-buffer test,
  /// exactly as the reference does. The bytes are copied; the caller may reuse `data` at once.
  bool send(ArrayBuffer data, std::uint32_t byteOffset = 0,
            std::optional<std::uint32_t> byteLength = std::nullopt);
  /// Beyond the reference: sends `data` without copying it, for one message fanned out to many
  /// sockets (a chat room, pub/sub). Whatever the kernel does not take at once stays referenced,
  /// not copied: the socket keeps `owner` alive until those bytes are written (or discarded by a
  /// close), so `data` must stay valid and unchanged while `owner` lives. Returns and throws as
  /// send(std::string_view).
  bool sendShared(ArrayBuffer data, std::shared_ptr<const void> owner);

  /// Stops delivering `data` (and the peer's `close`/`error` queued behind it) until resume().
  /// Counted: N calls need N resume(). Allowed in any state, before open too.
  void suspend();
  /// Undoes one suspend(). Throws InvalidStateError if the socket is not suspended.
  void resume();
  /// Beyond the reference: the backpressure brake for a handler that may send several replies
  /// per `data` event. After a send() that returned false, suspends reading once for this
  /// episode and resumes it just before the `drain` that ends it; further calls before that
  /// `drain` do nothing. Does nothing when no `drain` is owed (send() returned true, or failed).
  /// @code
  ///   socket.ondata([](const TCPSocketEvent& e) {
  ///     for (const auto& reply : answer(e.data))
  ///       if (!e.target.send(reply)) e.target.suspendUntilDrain();
  ///   });
  /// @endcode
  /// The same with suspend() and an `ondrain` that calls resume() would suspend once per refused
  /// send() and resume once per drain (suspend() is counted), and stop reading for good.
  void suspendUntilDrain();

  /// Graceful close: readyState becomes "closing" now; queued data is flushed, then FIN is sent,
  /// then readyState "closed" and `close` (after a pending `drain`). No-op unless connecting/open.
  /// After `close` the descriptor is kept until the peer has read our bytes and sent its FIN (at
  /// most 10 s); a peer that takes nothing for 5 s, has not taken everything by then, or sends
  /// more after our FIN, is reset (no orphaned kernel buffers, and no clean end for a request
  /// nobody will answer). An accepted socket's lingering counts toward its server's maxConnections.
  void close();
  /// Discards queued data and closes at once (the reference's chrome-only closeImmediately()).
  /// Also cuts short a close() still flushing to a peer that does not read.
  void closeImmediately();
  /// Beyond the reference (the W3C Direct Sockets draft's `writable.close()`): ends the sending
  /// side only. Every byte already accepted by send() is written, then FIN; `drain` still comes if
  /// owed. Reading goes on and readyState stays "open" until the peer closes too (then `close`).
  /// send() afterwards throws InvalidStateError. Throws InvalidStateError unless "open";
  /// a second call is a no-op.
  void halfClose();
  /// Beyond the reference: closes at once with a TCP reset (RST). Queued data is discarded, the
  /// peer sees "connection reset"; `close` follows (no `error`: it was asked for). No-op once
  /// closed.
  void abort();
  /// STARTTLS. Throws InvalidStateError unless "open" (or after halfClose()); no-op if ssl is
  /// already true. ssl is true at once; data queued before the call still goes out in plaintext,
  /// then the handshake runs (client role for opened sockets, server role with the server's
  /// tls credentials for accepted ones), and data sent after the call goes out encrypted after it.
  /// No event marks its success; a failure is `error` then `close`. Beyond the reference: nothing
  /// the peer sends after this call is ever delivered as plaintext `data`.
  /// Throws NotSupportedError on an accepted socket whose server has no certificate.
  void upgradeToSecure();

  /// Event handler attributes (`onopen = fn`): one per event, replaced by the next assignment,
  /// removed with nullptr. They run in registration order with the addEventListener listeners.
  void onopen(SocketEventHandler handler);
  void ondata(SocketEventHandler handler);
  void ondrain(SocketEventHandler handler);
  void onerror(SocketEventHandler handler);
  void onclose(SocketEventHandler handler);
  /// `end` (beyond the reference): the peer finished sending. Fired only with
  /// ConnectionOptions::allowHalfOpen; the socket stays open for send() until close()/halfClose().
  void onend(SocketEventHandler handler);

  ListenerId addEventListener(SocketEventType type, SocketEventHandler handler);
  void removeEventListener(ListenerId id);

  /// The underlying file descriptor, for socket options this API lacks (-1 before connecting).
  /// Do not read, write or close it.
  int nativeHandle() const;

  explicit operator bool() const noexcept { return impl_ != nullptr; }
  friend bool operator==(const TCPSocket& a, const TCPSocket& b) noexcept {
    return a.impl_ == b.impl_;
  }

 private:
  friend struct detail::Access;
  explicit TCPSocket(std::shared_ptr<detail::SocketImpl> impl) noexcept;
  detail::SocketImpl& impl() const;
  std::shared_ptr<detail::SocketImpl> impl_;
};

}  // namespace tcpsocket
