// The TLS part of a socket's life: STARTTLS (upgradeToSecure) and the handshake, for connected
// and accepted sockets alike. Reading and writing through the session live with the plain paths
// in socket_impl.cpp (readSome, writeSome, writeNow).
#include <asio/post.hpp>
#include <cerrno>
#include <stdexcept>

#include "socket_impl.hpp"
#include "tcpsocket/errors.hpp"
#include "tls_context.hpp"

namespace tcpsocket::detail {

bool SocketImpl::tlsPending() const noexcept {
  return tls_ && (!tls_->session || tls_->handshaking);
}

std::string SocketImpl::alpnProtocol() const {
  return tls_ && tls_->session && !tls_->handshaking ? tls_->session->alpnProtocol()
                                                     : std::string();
}

// Reference §4.3: ssl is true at once; bytes queued before the call still go out in plaintext,
// the handshake starts when they are out, and bytes sent after the call wait for it. Unlike the
// reference, nothing read from the peer after this call is delivered as plaintext (RFC 3207 §6):
// reading stops until the handshake, which then parses whatever arrived as TLS.
void SocketImpl::upgradeToSecure() {
  checkThread();
  if (state_ != ReadyState::Open) {
    throw InvalidStateError("upgradeToSecure() needs readyState \"open\", but it is \"" +
                            std::string(toString(state_)) + "\"");
  }
  if (tls_) return;
  if (writeEnded_) throw InvalidStateError("upgradeToSecure() after halfClose()");
  if (!tlsContext_) {
    if (accepted_) {
      throw NotSupportedError(
          "upgradeToSecure() on an accepted socket needs the server's tls.certificateChain and "
          "tls.privateKey");
    }
    tlsContext_ = TlsContext::forClient(TlsOptions{});
  }
  tls_ = std::make_unique<TlsState>(loop()->io());
  tls_->plainBefore = queue_.bytes();
  if (tls_->plainBefore == 0) {
    // Posted: a handshake failure must not fire inside this call.
    asio::post(loop()->io(), [self = shared_from_this()] { self->startHandshake(); });
  }  // else writeReady() starts it once the queued plaintext is out
}

void SocketImpl::startHandshake() {
  if (state_ == ReadyState::Closed || tls_->session) return;
  // Closed before the handshake began, with nothing sent after the upgrade: the close goes on
  // without one.
  if (state_ == ReadyState::Closing && queue_.empty()) return;
  try {
    tls_->session = std::make_unique<TlsSession>(tlsContext_, socket_->native_handle(), host_);
  } catch (const std::invalid_argument&) {  // a name no certificate could be checked against
    fail({"SecurityCertificateDomainMismatchError", "SecurityCertificate"});
    return;
  } catch (const std::bad_alloc&) {
    fail({"SecurityError", "SecurityProtocol"});
    return;
  }
  tls_->handshaking = true;
  tls_->deadline.expires_after(tlsContext_->options().handshakeTimeout);
  tls_->deadline.async_wait([self = shared_from_this()](const std::error_code& ec) {
    if (!ec && self->tls_->handshaking) self->fail(classifyErrno(ETIMEDOUT), true);
  });
  continueHandshake();
}

void SocketImpl::continueHandshake() {
  if (state_ == ReadyState::Closed) return;
  const TlsResult r = tls_->session->handshake();
  switch (r.status) {
    case TlsStatus::Done:
      handshakeDone();
      return;
    case TlsStatus::WantRead:
      waitReadable();
      return;
    case TlsStatus::WantWrite:
      if (!writeArmed_) waitWritable();
      return;
    case TlsStatus::Closed:
    case TlsStatus::Failed:
      fail(r.error);
      return;
  }
}

void SocketImpl::handshakeDone() {
  tls_->handshaking = false;
  tls_->deadline.cancel();
  noteActivity();
  if (state_ == ReadyState::Connecting) {
    state_ = ReadyState::Open;
    if (!accepted_) {
      emit(SocketEventType::Open);
    } else if (auto owner = owner_.lock(); !owner || !owner->connectionSecured(*this)) {
      abort();  // nobody to hand it to: the server was closed during the handshake
      return;
    }
  }
  if (state_ == ReadyState::Closed) return;
  // Bytes sent while the handshake ran, a close or half-close that waited for it; and data that
  // came with the handshake's last flight, already inside OpenSSL where no readiness shows it.
  if (!writeArmed_) writeReady();
  if (!readArmed_) scheduleRead();
}

}  // namespace tcpsocket::detail
