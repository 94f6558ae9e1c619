// Certificates made at test time (EC P-256, in memory): a private CA and the leaf certificates a
// TLS test needs — good, for another name, expired, self-signed. Nothing is read from disk.
#pragma once

#include <string>
#include <vector>

namespace test {

struct Credentials {
  std::string certificatePem;
  std::string keyPem;
};

struct CertSpec {
  std::vector<std::string> dnsNames{"localhost"};
  std::vector<std::string> ipAddresses{"127.0.0.1", "::1"};
  long validFromDays = -1;  // relative to now
  long validToDays = 30;
  bool clientAuth = false;  // extendedKeyUsage clientAuth instead of serverAuth
};

class TestCa {
 public:
  TestCa();
  /// The CA's certificate (what a peer trusts).
  const std::string& certificatePem() const { return ca_.certificatePem; }
  /// A leaf signed by this CA.
  Credentials issue(const CertSpec& spec = {}) const;
  /// A leaf signed by its own key.
  static Credentials selfSigned(const CertSpec& spec = {});

 private:
  Credentials ca_;
};

/// The file name OpenSSL looks for in a hashed CA directory: "<subject hash>.0".
std::string hashedFileName(const std::string& certificatePem);

/// "sha256/<base64>" of a certificate's public key (TlsOptions::pinnedPublicKeys).
std::string publicKeyPin(const std::string& certificatePem);

}  // namespace test
