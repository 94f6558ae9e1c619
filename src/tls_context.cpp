#include "tls_context.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <utility>

#include "bounded_file.hpp"
#include "tcpsocket/errors.hpp"

namespace tcpsocket::detail {
namespace {

constexpr std::string_view kPinPrefix = "sha256/";
constexpr std::size_t kClientCacheSize = 8;

[[noreturn]] void configError(const std::string& what, const std::error_code& ec) {
  throw TlsConfigurationError(what + ": " + ec.message());
}

asio::const_buffer bytesOf(const std::string& text) {
  return asio::buffer(text.data(), text.size());
}

// Read here rather than by OpenSSL's file functions, which would block on a FIFO and read a device
// or a huge file without end.
std::string readPemFile(const std::string& path, const std::string& setting) {
  BoundedFile file = readBoundedFile(path);
  if (!file.failure.empty()) {
    // The errno tells a missing file from a shortage of descriptors, which is no mistake in
    // the configuration and may pass.
    const std::error_code cause =
        file.error != 0 ? std::error_code(file.error, std::system_category()) : std::error_code();
    throw TlsConfigurationError("cannot load " + setting + ": " + file.failure, cause);
  }
  return std::move(file.text);
}

std::string pemOf(const PemSource& source, const std::string& setting) {
  return source.file.empty() ? source.pem : readPemFile(source.file, setting);
}

// "certificateChain", or "certificateChain file \"PATH\"": errors name the file a user gave.
std::string describe(const PemSource& source, const std::string& setting) {
  return source.file.empty() ? setting : setting + " file \"" + source.file + "\"";
}

int versionCode(TlsVersion v) noexcept {
  switch (v) {
    case TlsVersion::Tls1_0:
      return TLS1_VERSION;
    case TlsVersion::Tls1_1:
      return TLS1_1_VERSION;
    case TlsVersion::Tls1_2:
      return TLS1_2_VERSION;
    case TlsVersion::Tls1_3:
      return TLS1_3_VERSION;
  }
  return TLS1_2_VERSION;
}

// The server's choice: its own preference order among what the client offered. A client that
// offered ALPN but nothing we speak gets the fatal no_application_protocol alert (RFC 7301 §3.2).
int selectAlpn(SSL*, const unsigned char** out, unsigned char* outLength, const unsigned char* in,
               unsigned int inLength, void* arg) {
  const auto& ours = *static_cast<const std::vector<unsigned char>*>(arg);
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, outLength, ours.data(), static_cast<unsigned>(ours.size()), in,
                            inLength) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

TlsContext::TlsContext(TlsRole role, const TlsOptions& options)
    : role_(role),
      options_(options),
      context_(role == TlsRole::Client ? asio::ssl::context::tls_client
                                       : asio::ssl::context::tls_server) {
  SSL_CTX* ctx = native();
  // Partial writes keep a send() from waiting on a whole 64 KiB; moving buffers let a retry come
  // from the write queue's current head; released buffers make an idle session cost ~no buffers.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  // No TLS 1.2 renegotiation: a peer cannot restart the handshake under a running stream.
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_min_proto_version(ctx, versionCode(options.minVersion));
  // OpenSSL 3 refuses TLS < 1.2 at any security level above 0; asking for them means accepting
  // that.
  if (options.minVersion < TlsVersion::Tls1_2) SSL_CTX_set_security_level(ctx, 0);
  if (options.handshakeTimeout.count() <= 0 || options.handshakeTimeout > kMaxTimeout) {
    throw TlsConfigurationError("handshakeTimeout must be from 1 to " +
                                std::to_string(kMaxTimeout.count()) + " ms");
  }
  if (options.serverName.find('\0') != std::string::npos) {
    throw TlsConfigurationError("serverName contains a NUL character");
  }
  if (role == TlsRole::Server && !options.pinnedPublicKeys.empty() &&
      !options.requireClientCertificate) {
    throw TlsConfigurationError("a server's pinnedPublicKeys need requireClientCertificate");
  }
  configureTrust();
  configureCredentials();
  configureAlpn();
  parsePins();
}

void TlsContext::configureTrust() {
  std::error_code ec;
  const PemSource& trusted = options_.trustedCertificates;
  const bool verify = role_ == TlsRole::Client ? !options_.dangerouslyAcceptAnyCertificate
                                               : options_.requireClientCertificate;
  if (!verify) {
    context_.set_verify_mode(asio::ssl::verify_none, ec);
    return;
  }
  const std::string& directory = options_.trustedCertificateDirectory;
  if (role_ == TlsRole::Server && trusted.empty() && directory.empty()) {
    throw TlsConfigurationError(
        "requireClientCertificate needs trustedCertificates: the CAs that issue client "
        "certificates");
  }
  if (!trusted.file.empty()) {
    context_.add_certificate_authority(bytesOf(readPemFile(trusted.file, "trustedCertificates")),
                                       ec);
    if (ec) configError("cannot load trustedCertificates file \"" + trusted.file + "\"", ec);
  }
  if (!trusted.pem.empty()) {
    context_.add_certificate_authority(bytesOf(trusted.pem), ec);
    if (ec) configError("cannot read trustedCertificates PEM", ec);
  }
  if (!directory.empty()) {
    // OpenSSL reads such a directory lazily, file by file: check now that it is one at all.
    if (!std::filesystem::is_directory(directory, ec)) {
      throw TlsConfigurationError("trustedCertificateDirectory \"" + directory +
                                  "\" is not a directory");
    }
    context_.add_verify_path(directory, ec);
    if (ec) configError("cannot use trustedCertificateDirectory \"" + directory + "\"", ec);
  }
  if (trusted.empty() && directory.empty()) {
    context_.set_default_verify_paths(ec);
    if (ec) configError("cannot load the system's trusted certificates", ec);
  }
  context_.set_verify_mode(
      asio::ssl::verify_peer |
          (role_ == TlsRole::Server ? asio::ssl::verify_fail_if_no_peer_cert : 0),
      ec);
  if (role_ == TlsRole::Server) {
    // Resumed sessions of verified clients need an id context, or OpenSSL refuses them.
    static constexpr unsigned char kSessionContext[] = "tcpsocket";
    SSL_CTX_set_session_id_context(native(), kSessionContext, sizeof kSessionContext - 1);
  }
}

void TlsContext::configureCredentials() {
  const PemSource& chain = options_.certificateChain;
  const PemSource& key = options_.privateKey;
  if (chain.empty() != key.empty()) {
    throw TlsConfigurationError("certificateChain and privateKey must be given together");
  }
  if (chain.empty()) {
    if (role_ == TlsRole::Server) {
      throw TlsConfigurationError("a TLS server needs certificateChain and privateKey");
    }
    return;
  }
  std::error_code ec;
  context_.use_certificate_chain(bytesOf(pemOf(chain, "certificateChain")), ec);
  if (ec) configError("cannot load " + describe(chain, "certificateChain"), ec);
  context_.use_private_key(bytesOf(pemOf(key, "privateKey")), asio::ssl::context::pem, ec);
  if (ec) configError("cannot load " + describe(key, "privateKey"), ec);
  if (SSL_CTX_check_private_key(native()) != 1) {
    throw TlsConfigurationError("privateKey does not match the certificate in certificateChain");
  }
}

void TlsContext::configureAlpn() {
  for (const std::string& protocol : options_.alpnProtocols) {
    if (protocol.empty() || protocol.size() > 255) {
      throw TlsConfigurationError("an ALPN protocol name must have 1 to 255 bytes: \"" + protocol +
                                  "\"");
    }
    alpnWire_.push_back(static_cast<unsigned char>(protocol.size()));
    alpnWire_.insert(alpnWire_.end(), protocol.begin(), protocol.end());
  }
  if (alpnWire_.empty()) return;
  if (role_ == TlsRole::Client) {
    SSL_CTX_set_alpn_protos(native(), alpnWire_.data(), static_cast<unsigned>(alpnWire_.size()));
  } else {
    SSL_CTX_set_alpn_select_cb(native(), selectAlpn, &alpnWire_);
  }
}

void TlsContext::parsePins() {
  for (const std::string& pin : options_.pinnedPublicKeys) {
    const std::string_view text(pin);
    // 32 bytes are 44 base64 characters, the last one "=".
    if (!text.starts_with(kPinPrefix) || text.size() != kPinPrefix.size() + 44 ||
        text.back() != '=') {
      throw TlsConfigurationError("a pin must read \"sha256/\" and 44 base64 characters: \"" + pin +
                                  "\"");
    }
    unsigned char decoded[33];
    if (EVP_DecodeBlock(decoded,
                        reinterpret_cast<const unsigned char*>(pin.data() + kPinPrefix.size()),
                        44) != 33) {
      throw TlsConfigurationError("a pin is not valid base64: \"" + pin + "\"");
    }
    std::array<unsigned char, 32> digest{};
    std::copy_n(decoded, 32, digest.begin());
    pins_.push_back(digest);
  }
}

bool TlsContext::pinAccepts(const std::vector<unsigned char>& spki) const {
  if (pins_.empty()) return true;
  std::array<unsigned char, 32> digest{};
  unsigned int length = 0;
  if (EVP_Digest(spki.data(), spki.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1) {
    return false;
  }
  return std::find(pins_.begin(), pins_.end(), digest) != pins_.end();
}

std::shared_ptr<const TlsContext> TlsContext::forClient(const TlsOptions& options) {
  static std::mutex mutex;
  static std::vector<std::shared_ptr<const TlsContext>> cache;  // most recently used last
  {
    std::lock_guard lock(mutex);
    const auto it = std::find_if(cache.begin(), cache.end(),
                                 [&](const auto& c) { return c->options() == options; });
    if (it != cache.end()) {
      auto found = *it;
      cache.erase(it);
      cache.push_back(found);
      return found;
    }
  }
  auto built = std::make_shared<const TlsContext>(TlsRole::Client, options);  // outside the lock
  std::lock_guard lock(mutex);
  if (cache.size() >= kClientCacheSize) cache.erase(cache.begin());
  cache.push_back(built);
  return built;
}

}  // namespace tcpsocket::detail
