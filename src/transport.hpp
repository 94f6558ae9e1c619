// What a socket reads and writes through: the kernel directly (plain_transport.hpp) or a TLS
// session over it (tls_transport.hpp). The socket's state machine sees only this interface and
// the IoResult it returns, so no path of the socket branches on TLS: STARTTLS is "flush the
// plaintext, then swap the transport" (socket_secure.cpp).
//
// Every call does what it can without blocking and says what it waits for. The socket owns the
// descriptor and the readiness waits, and passes the descriptor to each call: the plain transport
// keeps no state at all, so one instance serves every plain socket (an idle connection pays
// nothing for it); a TLS session is bound to its descriptor when made and uses that one.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "error_table.hpp"

namespace tcpsocket::detail {

enum class IoStep {
  Progress,   ///< `bytes` moved; the caller may go on
  End,        ///< the peer ended its direction (FIN, or TLS close_notify)
  WaitRead,   ///< call again once the descriptor is readable (`bytes` may have moved first)
  WaitWrite,  ///< call again once the descriptor is writable (`bytes` may have moved first)
  Failed,     ///< `error` says why; the connection is unusable
};

struct IoResult {
  IoStep step;
  std::size_t bytes = 0;
  ErrorInfo error{};
};

class Transport {
 public:
  virtual ~Transport() = default;

  /// Up to `capacity` bytes into `buffer`. Progress (bytes > 0), End, a wait, or Failed.
  virtual IoResult read(int fd, std::uint8_t* buffer, std::size_t capacity) = 0;
  /// Writes from the front of `iov[0..count)`. Progress: took `bytes`, may take more. A wait:
  /// took `bytes` (perhaps 0) and is full; offer the rest again, at the front, after the wait.
  virtual IoResult write(int fd, const iovec* iov, int count) = 0;
  /// Progress once the connection is ready for application bytes (at once for plain TCP).
  virtual IoResult handshake() = 0;
  /// Ends our direction (TLS: close_notify first, once); never waits. A failure shows on reads.
  virtual void shutdownWrite(int fd) noexcept = 0;
  /// A read shorter than the buffer may leave bytes behind that no readiness edge announces
  /// (TLS keeps decrypted records inside the library): the reader must read again, not wait.
  virtual bool holdsReadAhead() const noexcept = 0;
  virtual bool secure() const noexcept = 0;
  /// The ALPN protocol agreed on, or empty.
  virtual std::string alpnProtocol() const { return {}; }
};

}  // namespace tcpsocket::detail
