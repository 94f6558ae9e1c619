// One configured TLS context (an OpenSSL SSL_CTX, built through asio::ssl::context) and the
// settings every session made from it shares: trust, credentials, versions, ALPN, pins.
#pragma once

#include <openssl/ssl.h>

#include <array>
#include <asio/ssl/context.hpp>
#include <memory>
#include <string>
#include <vector>

#include "tcpsocket/options.hpp"

namespace tcpsocket::detail {

enum class TlsRole { Client, Server };

class TlsContext {
 public:
  /// Loads everything `options` names; throws TlsConfigurationError with the reason when it
  /// cannot (a server without a certificate and key, an unreadable file, a malformed pin...).
  TlsContext(TlsRole role, const TlsOptions& options);

  /// The client context for `options`: contexts are costly to build (the system store alone is
  /// ~150 certificates), so equal options share one.
  static std::shared_ptr<const TlsContext> forClient(const TlsOptions& options);

  TlsRole role() const noexcept { return role_; }
  const TlsOptions& options() const noexcept { return options_; }
  SSL_CTX* native() const noexcept {
    return const_cast<asio::ssl::context&>(context_).native_handle();
  }
  /// True when `spki` (a DER SubjectPublicKeyInfo) matches a pin, or there are no pins.
  bool pinAccepts(const std::vector<unsigned char>& spki) const;

 private:
  void configureTrust();
  void configureCredentials();
  void configureAlpn();
  void parsePins();

  TlsRole role_;
  TlsOptions options_;
  asio::ssl::context context_;
  std::vector<unsigned char> alpnWire_;  // length-prefixed protocol names (RFC 7301 §3.1)
  std::vector<std::array<unsigned char, 32>> pins_;
};

}  // namespace tcpsocket::detail
