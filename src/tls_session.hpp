// One TLS session over a connected, non-blocking descriptor, driven by the socket's own readiness
// waits: every call does what it can without blocking and says what it waits for.
//
// OpenSSL reads and writes the descriptor itself, through a BIO that calls the sys_ops seam
// (MSG_NOSIGNAL, fault injection), so no record is copied through a memory BIO and an idle
// session keeps no buffers (SSL_MODE_RELEASE_BUFFERS).
#pragma once

#include <openssl/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "error_names.hpp"

namespace tcpsocket::detail {

class TlsContext;

enum class TlsStatus {
  Done,       ///< the call completed (`bytes` says how much for read/write)
  WantRead,   ///< wait until the descriptor is readable, then call again
  WantWrite,  ///< wait until the descriptor is writable, then call again
  Closed,     ///< the peer ended the TLS stream (close_notify, or a bare FIN after the handshake)
  Failed,     ///< `error` says why; the session is unusable
};

struct TlsResult {
  TlsStatus status;
  std::size_t bytes = 0;
  ErrorInfo error{};
};

class TlsSession {
 public:
  /// A session in `context`'s role. `peerName` is checked against the server's certificate (a
  /// host name, or an IP literal) and sent as SNI when it is a name. Throws std::invalid_argument
  /// when the name cannot be checked (empty, malformed), std::bad_alloc.
  TlsSession(std::shared_ptr<const TlsContext> context, int fd, const std::string& peerName);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  TlsResult handshake();
  /// Decrypted bytes into `buffer`; call until WantRead, as bytes may wait inside OpenSSL.
  TlsResult read(std::uint8_t* buffer, std::size_t capacity);
  /// Encrypts and writes up to `size` bytes. After WantRead/WantWrite, call again with the same
  /// bytes at the front (more may follow them).
  TlsResult write(const std::uint8_t* data, std::size_t size);
  /// Sends close_notify if it fits in the kernel now; never waits.
  void closeNotify() noexcept;
  /// The ALPN protocol agreed on, or empty.
  std::string alpnProtocol() const;

  /// Called by the BIO: the errno of the last failed system call.
  void noteErrno(int err) noexcept { lastErrno_ = err; }
  int fd() const noexcept { return fd_; }

 private:
  TlsResult outcome(int ret, bool handshaking);
  TlsResult checkPeer();

  std::shared_ptr<const TlsContext> context_;
  SSL* ssl_ = nullptr;
  int fd_;
  int lastErrno_ = 0;
};

}  // namespace tcpsocket::detail
