#include "tls_transport.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <asio/ip/address.hpp>
#include <cerrno>
#include <climits>
#include <new>
#include <stdexcept>
#include <vector>

#include "sys_ops.hpp"
#include "tls_context.hpp"

namespace tcpsocket::detail {
namespace {

TlsTransport& sessionOf(BIO* bio) { return *static_cast<TlsTransport*>(BIO_get_data(bio)); }

// One system call through the seam: EAGAIN becomes "retry" (`direction`: BIO_FLAGS_READ or
// BIO_FLAGS_WRITE), any other failure is noted for the session to classify.
template <class Call>
int throughSeam(BIO* bio, int direction, Call call) {
  BIO_clear_retry_flags(bio);
  TlsTransport& session = sessionOf(bio);
  const ssize_t n = sys::retryInterrupted([&] { return call(session.fd()); });
  if (n >= 0) return static_cast<int>(n);
  if (errno == EAGAIN || errno == EWOULDBLOCK) {
    BIO_set_flags(bio, direction | BIO_FLAGS_SHOULD_RETRY);
  } else {
    session.noteErrno(errno);
  }
  return -1;
}

int bioRead(BIO* bio, char* out, int length) {
  return throughSeam(bio, BIO_FLAGS_READ, [&](int fd) {
    return sys::ops().recv(fd, out, static_cast<size_t>(length), MSG_DONTWAIT);
  });
}

int bioWrite(BIO* bio, const char* data, int length) {
  return throughSeam(bio, BIO_FLAGS_WRITE, [&](int fd) {
    return sys::ops().send(fd, data, static_cast<size_t>(length), MSG_NOSIGNAL | MSG_DONTWAIT);
  });
}

long bioControl(BIO*, int command, long, void*) { return command == BIO_CTRL_FLUSH ? 1 : 0; }

int bioCreate(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

const BIO_METHOD* descriptorMethod() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "tcpsocket fd");
    if (m == nullptr) throw std::bad_alloc();
    BIO_meth_set_read(m, bioRead);
    BIO_meth_set_write(m, bioWrite);
    BIO_meth_set_ctrl(m, bioControl);
    BIO_meth_set_create(m, bioCreate);
    return m;
  }();
  return method;
}

int clampToInt(std::size_t size) noexcept {
  return static_cast<int>(std::min<std::size_t>(size, INT_MAX));
}

}  // namespace

TlsTransport::TlsTransport(std::shared_ptr<const TlsContext> context, int fd,
                           const std::string& peerName)
    : context_(std::move(context)), fd_(fd) {
  ssl_ = SSL_new(context_->native());
  BIO* bio = ssl_ ? BIO_new(descriptorMethod()) : nullptr;
  if (bio == nullptr) {
    SSL_free(ssl_);
    throw std::bad_alloc();
  }
  BIO_set_data(bio, this);
  SSL_set_bio(ssl_, bio, bio);
  if (context_->role() == TlsRole::Server) {
    SSL_set_accept_state(ssl_);
    return;
  }
  SSL_set_connect_state(ssl_);
  const TlsOptions& options = context_->options();
  const std::string& name = options.serverName.empty() ? peerName : options.serverName;
  // A scoped IPv6 literal ("fe80::1%eth0") names the address without its zone.
  const std::string address = name.substr(0, name.find('%'));
  std::error_code notIp;
  asio::ip::make_address(address, notIp);
  if (notIp) SSL_set_tlsext_host_name(ssl_, name.c_str());  // SNI carries names only (RFC 6066)
  if (options.dangerouslyAcceptAnyCertificate) return;
  // Without a name or address to check, any certificate from a trusted CA would pass: refuse.
  SSL_set_hostflags(ssl_, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  const int checked = notIp ? SSL_set1_host(ssl_, name.c_str())
                            : X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), address.c_str());
  if (checked != 1 || name.empty()) {
    SSL_free(ssl_);
    throw std::invalid_argument("cannot check a certificate against \"" + name + "\"");
  }
}

TlsTransport::~TlsTransport() { SSL_free(ssl_); }

IoResult TlsTransport::handshake() {
  if (phase_ != Phase::Handshaking) return {IoStep::Progress};
  ERR_clear_error();
  lastErrno_ = 0;
  const int ret = SSL_do_handshake(ssl_);
  if (ret != 1) return outcome(ret);
  IoResult checked = checkPeer();
  if (checked.step == IoStep::Progress) phase_ = Phase::Established;
  return checked;
}

// Pins are checked once the chain has verified and before any application byte is written.
IoResult TlsTransport::checkPeer() {
  X509* certificate = SSL_get0_peer_certificate(ssl_);
  if (certificate == nullptr) {  // pins with nothing to compare them to must not pass
    return context_->pinAccepts({}) ? IoResult{IoStep::Progress}
                                    : IoResult{IoStep::Failed, 0, pinMismatch()};
  }
  EVP_PKEY* key = X509_get0_pubkey(certificate);
  const int length = key ? i2d_PUBKEY(key, nullptr) : -1;
  std::vector<unsigned char> spki(length > 0 ? static_cast<std::size_t>(length) : 0);
  unsigned char* cursor = spki.data();
  if (length <= 0 || i2d_PUBKEY(key, &cursor) != length || !context_->pinAccepts(spki)) {
    return {IoStep::Failed, 0, pinMismatch()};
  }
  return {IoStep::Progress};
}

IoResult TlsTransport::read(int /*fd: the BIO's*/, std::uint8_t* buffer, std::size_t capacity) {
  ERR_clear_error();
  lastErrno_ = 0;
  const int ret = SSL_read(ssl_, buffer, clampToInt(capacity));
  if (ret > 0) return {IoStep::Progress, static_cast<std::size_t>(ret)};
  return outcome(ret);
}

// SSL_write takes one buffer: the entries are written in turn until one has to wait.
IoResult TlsTransport::write(int /*fd: the BIO's*/, const iovec* iov, int count) {
  IoResult total{IoStep::Progress};
  for (int i = 0; i < count; ++i) {
    const auto* data = static_cast<const std::uint8_t*>(iov[i].iov_base);
    std::size_t done = 0;
    while (done < iov[i].iov_len) {
      ERR_clear_error();
      lastErrno_ = 0;
      const int ret = SSL_write(ssl_, data + done, clampToInt(iov[i].iov_len - done));
      if (ret <= 0) {
        IoResult r = outcome(ret);
        // A write finding the stream ended is a failure (EPIPE), as a plain write would be.
        if (r.step == IoStep::End) r = {IoStep::Failed, 0, classifyErrno(EPIPE)};
        r.bytes = total.bytes;
        return r;
      }
      done += static_cast<std::size_t>(ret);
      total.bytes += static_cast<std::size_t>(ret);
    }
  }
  return total;
}

void TlsTransport::shutdownWrite(int /*fd: the BIO's*/) noexcept {
  if (phase_ == Phase::Established) {
    phase_ = Phase::CloseNotified;
    ERR_clear_error();
    SSL_shutdown(ssl_);
    ERR_clear_error();
  }
  sys::ops().shutdown(fd_, SHUT_WR);
}

std::string TlsTransport::alpnProtocol() const {
  if (phase_ == Phase::Handshaking) return {};
  const unsigned char* name = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(ssl_, &name, &length);
  return name ? std::string(reinterpret_cast<const char*>(name), length) : std::string();
}

IoResult TlsTransport::outcome(int ret) {
  const bool handshaking = phase_ == Phase::Handshaking;
  const int error = SSL_get_error(ssl_, ret);
  // The end of the stream is a close once the session is up; during the handshake it is a failure.
  const IoResult ended =
      handshaking ? IoResult{IoStep::Failed, 0, streamInterrupted()} : IoResult{IoStep::End};
  IoResult result{IoStep::Failed};
  switch (error) {
    case SSL_ERROR_WANT_READ:
      return {IoStep::WaitRead};
    case SSL_ERROR_WANT_WRITE:
      return {IoStep::WaitWrite};
    case SSL_ERROR_ZERO_RETURN:
      result = ended;
      break;
    case SSL_ERROR_SYSCALL:
      // No errno: the peer's FIN without close_notify (our BIO does not answer BIO_CTRL_EOF, so
      // OpenSSL reports it here rather than as SSL_R_UNEXPECTED_EOF_WHILE_READING). A close, as
      // most peers end that way; the application protocol frames its own messages.
      // A FIN in the middle of a record, though, is a truncated stream.
      if (lastErrno_ != 0) {
        result.error = classifyErrno(lastErrno_);
      } else if (!handshaking && SSL_has_pending(ssl_) == 1) {
        result.error = streamInterrupted();
      } else {
        result = ended;
      }
      break;
    default: {
      // The verify result says why only when verification is what failed: with verification off
      // OpenSSL still records chain problems, which must not name an unrelated failure.
      const unsigned long code = ERR_peek_error();
      const bool verifyFailed = ERR_GET_LIB(code) == ERR_LIB_SSL &&
                                ERR_GET_REASON(code) == SSL_R_CERTIFICATE_VERIFY_FAILED;
      result.error =
          verifyFailed ? classifyVerifyResult(SSL_get_verify_result(ssl_)) : classifyTlsError(code);
    }
  }
  ERR_clear_error();
  return result;
}

}  // namespace tcpsocket::detail
