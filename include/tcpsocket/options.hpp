// Options and enumerations of the TCP Socket API (the reference's WebIDL dictionaries and enums).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace tcpsocket {

class AppPolicy;

/// How received data is handed to `data` listeners (fixed when the socket is created).
enum class BinaryType {
  String,       ///< "string": a byte string, one char per byte (Latin-1), NULs kept.
  ArrayBuffer,  ///< "arraybuffer": a view of the received bytes.
};

/// The socket's life cycle: connecting -> open -> closing -> closed (or straight to closed on
/// failure).
enum class ReadyState { Connecting, Open, Closing, Closed };

std::string_view toString(BinaryType type) noexcept;   ///< "string" / "arraybuffer"
std::string_view toString(ReadyState state) noexcept;  ///< "connecting" / "open" / ...

/// Options of TCPSocket::open (the reference's `SocketOptions`).
struct SocketOptions {
  /// TLS from the start. Not available until the TLS issue lands: open() throws NotSupportedError.
  bool useSecureTransport = false;
  BinaryType binaryType = BinaryType::String;
  /// Beyond the reference: a deadline for the whole connection attempt (name resolution and
  /// every address tried). When it passes, `error` (NetworkTimeoutError) then `close`.
  /// Zero leaves it to the operating system (on Linux about two minutes per address).
  std::chrono::milliseconds connectTimeout{0};
  /// The app policy this socket is opened under (see app_policy.hpp); null: the loop's policy,
  /// if any (EventLoop::setPolicy), else full trust.
  std::shared_ptr<const AppPolicy> policy{};
};

/// Options of TCPServerSocket::listen (the reference's `ServerSocketOptions`, plus `localAddress`).
struct ServerSocketOptions {
  /// binaryType given to every accepted socket.
  BinaryType binaryType = BinaryType::String;
  /// The address to bind: an IPv4 or IPv6 literal. "0.0.0.0" (all IPv4 interfaces) is the
  /// reference's behaviour; "::" listens dual-stack (IPv6 and IPv4); "127.0.0.1" or "::1" loopback
  /// only.
  std::string localAddress = "0.0.0.0";
  /// The app policy this server listens under; null: the loop's policy, if any.
  std::shared_ptr<const AppPolicy> policy{};
};

/// The full-buffer threshold of send(): it returns false once more than this many bytes are
/// buffered.
inline constexpr std::uint64_t kSendBufferThreshold = 65536;

}  // namespace tcpsocket
