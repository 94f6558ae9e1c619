#include "support/tls_peer.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace test {

struct TlsPeer::State {
  int fd = -1;
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  std::string outgoing;
  bool finWanted = false;
  bool withFin = true;  // false: close_notify alone, the TCP connection left open
  bool finSent = false;

  ~State() {
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    if (fd >= 0) ::close(fd);
  }
};

namespace {

template <class Read>
auto fromPem(const std::string& pem, Read read) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  auto* object = read(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (object == nullptr) throw std::runtime_error("TlsPeer: bad PEM");
  return object;
}

}  // namespace

TlsPeer::TlsPeer(int fd, const Credentials& credentials) : state_(std::make_unique<State>()) {
  state_->fd = fd;
  state_->ctx = SSL_CTX_new(TLS_server_method());
  X509* cert = fromPem(credentials.certificatePem, PEM_read_bio_X509);
  EVP_PKEY* key = fromPem(credentials.keyPem, PEM_read_bio_PrivateKey);
  SSL_CTX_use_certificate(state_->ctx, cert);
  SSL_CTX_use_PrivateKey(state_->ctx, key);
  X509_free(cert);
  EVP_PKEY_free(key);
  SSL_CTX_set_mode(state_->ctx,
                   SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  state_->ssl = SSL_new(state_->ctx);
  SSL_set_fd(state_->ssl, fd);
  SSL_set_accept_state(state_->ssl);
}

TlsPeer::~TlsPeer() = default;

bool TlsPeer::handshakeDone() const { return state_ && SSL_is_init_finished(state_->ssl) == 1; }

void TlsPeer::pump() {
  if (!state_ || failed_) return;
  State& s = *state_;
  ERR_clear_error();
  if (!handshakeDone()) {
    const int r = SSL_do_handshake(s.ssl);
    if (r != 1) {
      const int e = SSL_get_error(s.ssl, r);
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) failed_ = true;
      return;
    }
  }
  while (!s.outgoing.empty()) {
    const int n = SSL_write(s.ssl, s.outgoing.data(), static_cast<int>(s.outgoing.size()));
    if (n <= 0) {
      const int e = SSL_get_error(s.ssl, n);
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) failed_ = true;
      break;
    }
    s.outgoing.erase(0, static_cast<std::size_t>(n));
  }
  if (s.finWanted && !s.finSent && s.outgoing.empty()) {
    SSL_shutdown(s.ssl);  // close_notify; the FIN follows whether or not it went out whole
    if (s.withFin) ::shutdown(s.fd, SHUT_WR);
    s.finSent = true;
  }
  char buffer[65536];
  while (!eof_ && !failed_) {
    const int n = SSL_read(s.ssl, buffer, sizeof buffer);
    if (n > 0) {
      received_.append(buffer, static_cast<std::size_t>(n));
      continue;
    }
    const int e = SSL_get_error(s.ssl, n);
    if (e == SSL_ERROR_ZERO_RETURN) {
      eof_ = true;
    } else if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
      // A bare FIN counts as the end, as our library treats it; anything else is a failure.
      const bool bareFin = e == SSL_ERROR_SYSCALL && errno == 0;
      const bool unexpectedEof = e == SSL_ERROR_SSL && ERR_GET_REASON(ERR_peek_error()) ==
                                                           SSL_R_UNEXPECTED_EOF_WHILE_READING;
      (bareFin || unexpectedEof ? eof_ : failed_) = true;
    }
    break;
  }
  ERR_clear_error();
}

void TlsPeer::write(const std::string& data) { state_->outgoing += data; }

void TlsPeer::shutdownWrite(bool withFin) {
  state_->finWanted = true;
  state_->withFin = withFin;
}

void TlsPeer::truncateMidRecord(const std::string& data) {
  State& s = *state_;
  BIO* capture = BIO_new(BIO_s_mem());
  SSL_set0_wbio(s.ssl, capture);  // the record goes to memory instead of the socket
  SSL_write(s.ssl, data.data(), static_cast<int>(data.size()));
  char* record = nullptr;
  const long length = BIO_get_mem_data(capture, &record);
  if (::send(s.fd, record, static_cast<std::size_t>(length / 2), MSG_NOSIGNAL) != length / 2) {
    failed_ = true;
  }
  ::shutdown(s.fd, SHUT_WR);
}

void TlsPeer::reset() {
  linger l{1, 0};
  ::setsockopt(state_->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  state_.reset();
}

int TlsPeer::pendingError() const {
  int error = 0;
  socklen_t length = sizeof error;
  if (!state_ || ::getsockopt(state_->fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) return -1;
  return error;
}

}  // namespace test
