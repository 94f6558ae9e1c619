// Options and enumerations of the TCP Socket API (the reference's WebIDL dictionaries and enums).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tcpsocket/export.hpp"
#include "tcpsocket/proxy_protocol.hpp"

namespace tcpsocket {

class AppPolicy;
struct SocketHandlers;

/// How received data is handed to `data` listeners (fixed when the socket is created).
enum class BinaryType : std::uint8_t {
  String,       ///< "string": a byte string, one char per byte (Latin-1), NULs kept.
  ArrayBuffer,  ///< "arraybuffer": a view of the received bytes.
};

/// The socket's life cycle: connecting -> open -> closing -> closed (or straight to closed on
/// failure).
enum class ReadyState : std::uint8_t { Connecting, Open, Closing, Closed };

TCPSOCKET_API std::string_view toString(BinaryType type) noexcept;  ///< "string" / "arraybuffer"
TCPSOCKET_API std::string_view toString(
    ReadyState state) noexcept;  ///< "connecting" / "open" / ...

/// TCP keepalive probes (SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT): a peer that
/// vanished without a FIN or RST is detected after `idle + interval * count`, as NetworkError.
struct TCPSOCKET_API KeepAliveOptions {
  bool enabled = false;
  std::chrono::seconds idle{60};      ///< silence before the first probe
  std::chrono::seconds interval{10};  ///< between unanswered probes
  int count = 6;                      ///< unanswered probes before the connection is dropped
  bool operator==(const KeepAliveOptions&) const = default;
};

/// Beyond the reference: per-connection settings and limits, for opened and accepted sockets
/// alike. Every field is opt-in except noDelay; the defaults keep the reference's behaviour.
struct TCPSOCKET_API ConnectionOptions {
  /// TCP_NODELAY: small writes go out at once (the reference's sockets did the same).
  bool noDelay = true;
  KeepAliveOptions keepAlive{};
  /// TCP_USER_TIMEOUT: how long sent data may stay unacknowledged before the connection is
  /// dropped (NetworkError). Zero: the system's default (about 15 minutes of retransmissions).
  std::chrono::milliseconds userTimeout{0};
  /// No byte received or written for this long: `error` (NetworkTimeoutError) then `close`, the
  /// connection reset. Zero: never. Time spent suspended counts (nothing is read then), so a socket
  /// kept suspended longer than this is reset too.
  std::chrono::milliseconds idleTimeout{0};
  /// A hard cap on bufferedAmount. A send() that would exceed it returns false and queues nothing;
  /// the socket then fails with `error` (BufferOverflowError, class "Network") and `close`, the
  /// queued data discarded. Zero: unbounded, as in the reference (send() only advises with false).
  /// Otherwise at least 65536 (open()/listen() throw TypeError): below that, an app that sends
  /// until send() returns false would be cut off before it is ever told to stop.
  std::uint64_t maxBufferedAmount = 0;
  /// When the peer half-closes: false (the default) flushes and closes, as the reference ends such
  /// sockets; true keeps the socket open for sending, fires `end`, and closes once this side calls
  /// close() or halfClose() (Node's allowHalfOpen).
  bool allowHalfOpen = false;
  bool operator==(const ConnectionOptions&) const = default;
};

/// PEM data for TlsOptions: the path of a PEM file, or the PEM text itself (set one of the two).
struct TCPSOCKET_API PemSource {
  std::string file;
  std::string pem;
  bool empty() const noexcept { return file.empty() && pem.empty(); }
  bool operator==(const PemSource&) const = default;
};

enum class TlsVersion { Tls1_0, Tls1_1, Tls1_2, Tls1_3 };

/// Beyond the reference: how TLS is spoken (useSecureTransport, upgradeToSecure()). The defaults
/// are the secure ones: TLS 1.2 or newer, the peer's certificate chain verified against the
/// system's trust store and its name (or IP address) checked against `host`.
/// Invalid settings (an unreadable file, a key that does not match the certificate, a malformed
/// pin) make open(), listen() or upgradeToSecure() throw TlsConfigurationError.
struct TCPSOCKET_API TlsOptions {
  /// Certificate authorities to trust instead of the system store (clients), or the ones that
  /// issue client certificates (servers with requireClientCertificate).
  PemSource trustedCertificates{};
  /// A directory of trusted CA certificates named by subject hash (`openssl rehash` / c_rehash
  /// layout, like /etc/ssl/certs), used with or instead of trustedCertificates.
  std::string trustedCertificateDirectory{};
  /// Our own certificate chain (leaf first) and its private key: required to accept TLS
  /// connections, optional for clients (a client certificate).
  PemSource certificateChain{};
  PemSource privateKey{};
  /// Public-key pins: "sha256/<base64 of the SHA-256 of the certificate's SubjectPublicKeyInfo>"
  /// (the form of curl's --pinnedpubkey and HPKP). When non-empty, the peer's key must match one
  /// of them, on top of normal verification; a mismatch is SecurityBadCertificateError.
  std::vector<std::string> pinnedPublicKeys{};
  TlsVersion minVersion = TlsVersion::Tls1_2;
  /// ALPN protocols: a client offers them in this order; a server picks the first of its list the
  /// client offered, and refuses the handshake when the client offered only others.
  std::vector<std::string> alpnProtocols{};
  /// The name sent as SNI and checked in the certificate; empty: the host given to open().
  std::string serverName{};
  /// Servers: a client must present a certificate issued by trustedCertificates.
  bool requireClientCertificate = false;
  /// A handshake not finished by then fails (NetworkTimeoutError), so a stalled or silent peer
  /// never holds a connection for long.
  std::chrono::milliseconds handshakeTimeout{5000};
  /// Accept any certificate, expired, self-signed or for another name. For tests against
  /// throwaway certificates only: it makes the connection open to anyone in the path.
  bool dangerouslyAcceptAnyCertificate = false;
  bool operator==(const TlsOptions&) const = default;
};

/// Options of TCPSocket::open (the reference's `SocketOptions`).
struct TCPSOCKET_API SocketOptions {
  /// TLS from the start: SNI is `host` and the peer's certificate is verified (see TlsOptions).
  /// Deviation: `open` fires once the TLS handshake has completed, not at the TCP connect.
  bool useSecureTransport = false;
  BinaryType binaryType = BinaryType::String;
  /// Beyond the reference: a deadline for the whole connection attempt (name resolution and
  /// every address tried). When it passes, `error` (NetworkTimeoutError) then `close`.
  /// Zero leaves it to the operating system (on Linux about two minutes per address).
  std::chrono::milliseconds connectTimeout{0};
  /// The app policy this socket is opened under (see app_policy.hpp); null: the loop's policy,
  /// if any (EventLoop::setPolicy), else full trust.
  std::shared_ptr<const AppPolicy> policy{};
  /// Beyond the reference: the local end to bind before connecting, for a host with several
  /// addresses. An IPv4 or IPv6 literal ("" lets the kernel choose); only addresses of the
  /// remote address's family are tried with it. `localPort` 0 lets the kernel pick (a port
  /// alone binds the wildcard address of each remote address's family). open() throws
  /// InvalidAddressError for a malformed address. A bind that fails is that address's connection
  /// failure: with no other address left, `error` (ConnectionRefusedError for an address not on
  /// this host, NetworkError for a port in use; `cause` has the errno) then `close`.
  std::string localAddress{};
  std::uint16_t localPort = 0;
  ConnectionOptions connection{};
  /// How TLS is spoken, from the start or after upgradeToSecure().
  TlsOptions tls{};
};

/// Options of TCPServerSocket::listen (the reference's `ServerSocketOptions`, plus `localAddress`).
struct TCPSOCKET_API ServerSocketOptions {
  /// binaryType given to every accepted socket.
  BinaryType binaryType = BinaryType::String;
  /// The address to bind: an IPv4 or IPv6 literal. "0.0.0.0" (all IPv4 interfaces) is the
  /// reference's behaviour; "::" listens dual-stack (IPv6 and IPv4); "127.0.0.1" or "::1" loopback
  /// only.
  std::string localAddress = "0.0.0.0";
  /// The app policy this server listens under; null: the loop's policy, if any.
  std::shared_ptr<const AppPolicy> policy{};
  /// Settings given to every accepted socket.
  ConnectionOptions connection{};
  /// Beyond the reference: at most this many accepted connections open at once (0: no limit),
  /// counting closed ones whose descriptors still linger (see TCPSocket::close()).
  /// At the limit the server stops accepting — new clients wait in the kernel's backlog instead
  /// of being accepted and dropped — and resumes when the count falls to 90% of the limit.
  std::uint32_t maxConnections = 0;
  /// At most this many open connections from one remote address (0: no limit); one more is
  /// accepted and reset at once, without a `connect` event.
  std::uint32_t maxConnectionsPerAddress = 0;
  /// Listeners every accepted socket runs before its own (see SocketHandlers in events.hpp): one
  /// shared copy instead of one per connection. Null: none.
  std::shared_ptr<const SocketHandlers> handlers{};
  /// SO_REUSEPORT: several listeners (one per process or per loop) share one port and the kernel
  /// spreads incoming connections among them, as nginx workers do.
  bool reusePort = false;
  /// Beyond the reference: for an IPv6 localAddress, IPv6 only (IPV6_V6ONLY). With "::" the
  /// server then takes no IPv4 clients, and another socket may listen on 0.0.0.0 and the same
  /// port. false (the default): "::" is dual-stack, whatever the system's default is.
  bool ipv6Only = false;
  /// Beyond the reference: accept TLS connections (tls.certificateChain and tls.privateKey are
  /// then required). A TLS connection is handed out through `connect` only once its handshake has
  /// completed; a client that fails it, or does not finish it within tls.handshakeTimeout, is
  /// dropped without an event (counted in ServerStats::handshakeFailures).
  bool useSecureTransport = false;
  /// TLS settings: for useSecureTransport, and for upgradeToSecure() on accepted sockets
  /// (server-side STARTTLS), which needs tls.certificateChain and tls.privateKey too.
  TlsOptions tls{};
  /// Beyond the reference: behind a load balancer, read the PROXY protocol header (v1 or v2) it
  /// puts in front of each connection (see proxy_protocol.hpp). The accepted socket's host/port
  /// are then the client's, TCPSocket::proxyInfo() has the balancer's and the header's TLVs; a
  /// connection is handed out only after its header (and before any TLS handshake, which
  /// follows the header). maxConnectionsPerAddress counts the clients, not the balancer. A
  /// header must be complete within tls.handshakeTimeout.
  ProxyProtocolOptions proxyProtocol{};
};

/// The full-buffer threshold of send(): it returns false once more than this many bytes are
/// buffered.
inline constexpr std::uint64_t kSendBufferThreshold = 65536;

/// The longest timeout any option accepts (about 24.8 days, as JavaScript's setTimeout): longer
/// ones throw TypeError (TlsConfigurationError for handshakeTimeout) instead of overflowing the
/// clock into a timer that fires at once.
inline constexpr std::chrono::milliseconds kMaxTimeout{2147483647};

}  // namespace tcpsocket
