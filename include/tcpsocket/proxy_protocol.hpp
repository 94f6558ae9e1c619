// The PROXY protocol on a server behind a load balancer (HAProxy's `send-proxy`/`send-proxy-v2`,
// nginx's `proxy_protocol on`, Envoy, cloud L4 balancers): the balancer prefixes each connection
// with a header naming the client, and the accepted socket reports the client, not the balancer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tcpsocket/export.hpp"

namespace tcpsocket {

/// ServerSocketOptions::proxyProtocol.
struct TCPSOCKET_API ProxyProtocolOptions {
  enum class Mode {
    Off,       ///< no header expected: bytes are the application's (the default)
    Required,  ///< every connection starts with a header (v1 or v2), from a trusted source
    /// A header is taken if the connection starts with one, from a trusted source; a connection
    /// without one is the client's own. The server waits for the first bytes to tell, so this
    /// suits protocols where the client speaks first.
    Optional,
  };
  Mode mode = Mode::Off;
  /// Who may send a header: IPv4/IPv6 addresses or CIDR blocks ("10.0.0.0/8", "fd00::/8",
  /// "127.0.0.1"). Empty: loopback only (127.0.0.0/8 and ::1). A header is never believed from
  /// anywhere else: with Required such a connection is reset at once; with Optional it is reset
  /// if it starts with a header. "0.0.0.0/0" and "::/0" trust everyone. listen() throws
  /// InvalidAddressError for an entry that is not an address or block.
  std::vector<std::string> trustedSources{};
  bool operator==(const ProxyProtocolOptions&) const = default;
};

/// What the balancer's header said of an accepted connection (TCPSocket::proxyInfo()). The
/// socket's host()/port() and remoteAddress()/remotePort() are the client's; these are the rest.
struct TCPSOCKET_API ProxyInfo {
  int version = 0;  ///< 1 (text) or 2 (binary)
  /// The balancer's own connection (v2 LOCAL, v1 UNKNOWN: a health check): no client was named,
  /// and host()/port() are the balancer's.
  bool local = false;
  std::string proxyAddress;  ///< the balancer: the TCP peer of this connection
  std::uint16_t proxyPort = 0;
  std::string destinationAddress;  ///< where the client connected (the balancer's frontend)
  std::uint16_t destinationPort = 0;
  /// v2 TLVs, empty when absent: the ALPN protocol and SNI host name (PP2_TYPE_ALPN, _AUTHORITY)
  /// the balancer saw, its connection ID (_UNIQUE_ID), and for a client that spoke TLS to the
  /// balancer (PP2_TYPE_SSL) its version, cipher and certificate's common name.
  std::string alpn;
  std::string authority;
  std::string uniqueId;
  bool ssl = false;                        ///< the client spoke TLS to the balancer
  bool clientCertificateVerified = false;  ///< it presented a certificate the balancer verified
  std::string sslVersion;
  std::string sslCipher;
  std::string sslCommonName;
};

}  // namespace tcpsocket
