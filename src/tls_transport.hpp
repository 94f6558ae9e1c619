// TLS over a connected, non-blocking descriptor, as a Transport (transport.hpp).
//
// OpenSSL reads and writes the descriptor itself, through a BIO that calls the sys_ops seam
// (MSG_NOSIGNAL, fault injection), so no record is copied through a memory BIO and an idle
// session keeps no buffers (SSL_MODE_RELEASE_BUFFERS).
#pragma once

#include <openssl/types.h>

#include <memory>
#include <string>

#include "transport.hpp"

namespace tcpsocket::detail {

class TlsContext;

class TlsTransport final : public Transport {
 public:
  /// A session in `context`'s role. `peerName` is checked against the server's certificate (a
  /// host name, or an IP literal) and sent as SNI when it is a name. Throws std::invalid_argument
  /// when the name cannot be checked (empty, malformed), std::bad_alloc.
  TlsTransport(std::shared_ptr<const TlsContext> context, int fd, const std::string& peerName);
  ~TlsTransport() override;
  TlsTransport(const TlsTransport&) = delete;
  TlsTransport& operator=(const TlsTransport&) = delete;

  /// The handshake, then the pins (TlsOptions::pinnedKeys) before any application byte.
  IoResult handshake() override;
  /// Decrypted bytes; call until a wait, as bytes may wait inside OpenSSL (holdsReadAhead).
  IoResult read(int fd, std::uint8_t* buffer, std::size_t capacity) override;
  /// Encrypts and writes from the front of `iov` (the peer ending the stream is EPIPE).
  IoResult write(int fd, const iovec* iov, int count) override;
  /// close_notify if it fits in the kernel now (once, and only after the handshake), then FIN.
  void shutdownWrite(int fd) noexcept override;
  bool holdsReadAhead() const noexcept override { return true; }
  bool secure() const noexcept override { return true; }
  std::string alpnProtocol() const override;

  /// Called by the BIO: the errno of the last failed system call.
  void noteErrno(int err) noexcept { lastErrno_ = err; }
  int fd() const noexcept { return fd_; }

 private:
  enum class Phase { Handshaking, Established, CloseNotified };

  IoResult outcome(int ret);
  IoResult checkPeer();

  std::shared_ptr<const TlsContext> context_;
  SSL* ssl_ = nullptr;
  int fd_;
  int lastErrno_ = 0;
  Phase phase_ = Phase::Handshaking;
};

}  // namespace tcpsocket::detail
