// The PROXY protocol header a load balancer (HAProxy, nginx, Envoy, a cloud L4 balancer) puts in
// front of a connection to say whom it is for: version 1 (one text line) and version 2 (binary,
// with TLVs), as specified in HAProxy's doc/proxy-protocol.txt. A pure parser of the bytes peeked
// so far, so that it is fuzzed on its own (fuzz/proxy_header_fuzzer.cpp); proxy_intake.hpp reads
// them off the connection.
#pragma once

#include <asio/ip/tcp.hpp>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "tcpsocket/proxy_protocol.hpp"

namespace tcpsocket::detail {

/// The longest header we take: v2's 16 bytes plus its largest length. v1 is at most 107.
inline constexpr std::size_t kMaxProxyHeader = 16 + 65535;
inline constexpr std::size_t kMaxProxyV1 = 107;

struct ProxyParse {
  enum class Status {
    NeedMore,  ///< a header so far: peek again once more bytes (`length` in all, if known) are in
    NotProxy,  ///< the bytes cannot start a header (a client speaking directly)
    Invalid,   ///< a header, malformed: `error` says how
    Complete,  ///< a whole header of `length` bytes
  };
  Status status = Status::NeedMore;
  std::size_t length = 0;  ///< Complete: the header's; NeedMore: the whole header's, 0 if unknown
  const char* error = "";
  /// With Complete. `local` (v2 LOCAL, v1 UNKNOWN, or an address family we do not route): the
  /// connection is the balancer's own and source/destination are unset.
  bool local = false;
  asio::ip::tcp::endpoint source;
  asio::ip::tcp::endpoint destination;
  ProxyInfo info;  ///< version and TLVs (the addresses are filled in by the caller)
};

/// Parses the start of a connection's bytes.
ProxyParse parseProxyHeader(std::span<const std::uint8_t> bytes);

}  // namespace tcpsocket::detail
