// STARTTLS and the TLS handshake, for connected and accepted sockets alike. A socket secures
// itself by flushing the plaintext queued before the upgrade, then swapping its PlainTransport
// for a TlsTransport and running the handshake; reading and writing know nothing of TLS.
#include <asio/post.hpp>
#include <cerrno>
#include <new>
#include <stdexcept>

#include "socket_impl.hpp"
#include "tcpsocket/errors.hpp"
#include "tls_context.hpp"
#include "tls_transport.hpp"

namespace tcpsocket::detail {

// docs/reference.md §4.3: ssl is true at once; bytes queued before the call still go out in
// plaintext, the handshake starts when they are out, and bytes sent after the call wait for it.
// Unlike the reference, nothing read from the peer after this call is delivered as plaintext
// (RFC 3207 §6): reading stops until the handshake, which then parses whatever arrived as TLS.
void SocketImpl::upgradeToSecure() {
  checkThread();
  if (state_ != ReadyState::Open) throw InvalidStateError(needsOpen("upgradeToSecure()", state_));
  if (ssl()) return;
  if (write_.fin != OurFin::None) throw InvalidStateError("upgradeToSecure() after halfClose()");
  if (!tlsContext()) {
    if (accepted_) {
      throw NotSupportedError(
          "upgradeToSecure() on an accepted socket needs the server's tls.certificateChain and "
          "tls.privateKey");
    }
    extras().tlsContext = TlsContext::forClient(TlsOptions{});
  }
  Securing& securing =
      *(extras().securing = std::make_unique<Securing>(loop()->io(), write_.queue.bytes()));
  if (securing.plaintextLeft == 0) {
    // Posted: a handshake failure must not fire inside this call.
    asio::post(loop()->io(), [self = shared_from_this()] { self->startHandshake(); });
  }  // else the writer starts it once the queued plaintext is out (plaintextSent)
}

std::uint64_t SocketImpl::writableNow() const noexcept {
  const Securing* securing = this->securing();
  if (securing == nullptr) return UINT64_MAX;
  return securing->handshaking ? 0 : securing->plaintextLeft;
}

bool SocketImpl::plaintextSent(std::size_t written) {
  Securing* securing = this->securing();
  if (securing == nullptr || securing->handshaking) return false;
  securing->plaintextLeft -= written;
  if (securing->plaintextLeft > 0) return false;
  if (state_ == ReadyState::Closing && write_.queue.empty()) {
    queueEmptied();  // closed with nothing sent after the upgrade: no handshake needed
  } else {
    startHandshake();
  }
  return true;
}

void SocketImpl::startHandshake() {
  Securing* securing = this->securing();
  if (state_ == ReadyState::Closed || securing == nullptr || securing->handshaking) return;
  // Closed before the handshake began, with nothing sent after the upgrade: the close goes on
  // without one.
  if (state_ == ReadyState::Closing && write_.queue.empty()) return;
  try {
    // Only a client checks a name; an accepted socket is the server side.
    const std::string peerName = accepted_ ? std::string() : host();
    auto& secure = extras().secure;
    secure = std::make_unique<TlsTransport>(tlsContext(), fd_, peerName);
  } catch (const std::invalid_argument&) {  // a name no certificate could be checked against
    fail(uncheckableName());
    return;
  } catch (const std::bad_alloc&) {
    fail(tlsOutOfMemory());
    return;
  }
  securing->handshaking = true;
  securing->handshakeDeadline.expires_after(tlsContext()->options().handshakeTimeout);
  securing->handshakeDeadline.async_wait([self = shared_from_this()](const std::error_code& ec) {
    if (!ec && self->securing()) self->fail(classifyErrno(ETIMEDOUT), true);
  });
  continueHandshake();
}

void SocketImpl::continueHandshake() {
  if (state_ == ReadyState::Closed) return;
  const IoResult r = transport().handshake();
  switch (r.step) {
    case IoStep::Progress:
      handshakeDone();
      return;
    case IoStep::WaitRead:
      waitReadable();
      return;
    case IoStep::WaitWrite:
      if (!write_.armed) waitWritable();
      return;
    case IoStep::End:
    case IoStep::Failed:
      fail(r.error);
      return;
  }
}

void SocketImpl::handshakeDone() {
  extras_->securing.reset();  // and its deadline
  noteActivity();
  if (state_ == ReadyState::Connecting) {
    state_ = ReadyState::Open;
    if (!accepted_) {
      emit(SocketEventType::Open);
    } else {
      handedOut_ = true;  // before `connect`: what its listeners do fires the shared handlers
      if (auto owner = accepted_->owner.lock(); !owner || !owner->connectionSecured(*this)) {
        handedOut_ = false;
        abort();  // nobody to hand it to: the server was closed during the handshake
        return;
      }
    }
  }
  if (state_ == ReadyState::Closed) return;
  // Bytes sent while the handshake ran, a close or half-close that waited for it; and data that
  // came with the handshake's last flight, already inside OpenSSL where no readiness shows it.
  if (!write_.armed) writeReady();
  if (!read_.armed) scheduleRead();
}

std::string SocketImpl::alpnProtocol() const {
  return securing() ? std::string() : transport().alpnProtocol();
}

}  // namespace tcpsocket::detail
