#include "error_table.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <asio/error.hpp>
#include <cerrno>
#include <string>

#include "tcpsocket/errors.hpp"

namespace tcpsocket {

std::string_view errorName(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::InvalidState:
      return "InvalidStateError";
    case ErrorKind::Type:
      return "TypeError";
    case ErrorKind::NotSupported:
      return "NotSupportedError";
    case ErrorKind::InvalidAddress:
      return "InvalidAddressError";
    case ErrorKind::AddressInUse:
      return "AddressInUseError";
    case ErrorKind::AddressNotAvailable:
      return "AddressNotAvailableError";
    case ErrorKind::PermissionDenied:
      return "PermissionDeniedError";
    case ErrorKind::Network:
      return "NetworkError";
    case ErrorKind::WrongThread:
      return "WrongThreadError";
    case ErrorKind::Security:
      return "SecurityError";
    case ErrorKind::Manifest:
      return "ManifestError";
    case ErrorKind::TlsConfiguration:
      return "TLSConfigurationError";
  }
  return "Error";
}

Error::Error(ErrorKind kind, const std::string& message, std::error_code cause)
    : std::runtime_error(message), kind_(kind), cause_(cause) {}

void throwListenError(const std::error_code& cause, std::string_view where) {
  const std::string at(where);
  if (cause.category() == std::system_category() || cause.category() == std::generic_category()) {
    switch (cause.value()) {
      case EADDRINUSE:
        throw AddressInUseError(at + " is already in use", cause);
      case EADDRNOTAVAIL:
        throw AddressNotAvailableError(at + " is not an address of this host", cause);
      case EACCES:
      case EPERM:
        throw PermissionDeniedError(
            "the system refused to bind " + at + " (ports below 1024 need CAP_NET_BIND_SERVICE)",
            cause);
      default:
        break;
    }
  }
  throw NetworkError("cannot listen on " + at + ": " + cause.message(), cause);
}

}  // namespace tcpsocket

namespace tcpsocket::detail {
namespace {

constexpr std::string_view kNetwork = "Network";
constexpr std::string_view kCertificate = "SecurityCertificate";
constexpr std::string_view kProtocol = "SecurityProtocol";

std::error_code systemError(int err) noexcept { return {err, std::system_category()}; }

class TlsCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "openssl"; }
  std::string message(int code) const override {
    const char* reason = ERR_reason_error_string(static_cast<unsigned long>(code));
    return reason ? reason : "OpenSSL error " + std::to_string(code);
  }
};

class CertificateCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "x509"; }
  std::string message(int code) const override { return X509_verify_cert_error_string(code); }
};

}  // namespace

const std::error_category& tlsCategory() noexcept {
  static const TlsCategory category;
  return category;
}

const std::error_category& certificateCategory() noexcept {
  static const CertificateCategory category;
  return category;
}

ErrorInfo domainNotFound(std::error_code cause) noexcept {
  return {"DomainNotFoundError", kNetwork, cause};
}
ErrorInfo policyDenied() noexcept { return {"SecurityError", "SecurityPolicy"}; }
ErrorInfo bufferOverflow() noexcept { return {"BufferOverflowError", kNetwork}; }
ErrorInfo streamInterrupted() noexcept { return {"NetworkInterruptError", kNetwork}; }
ErrorInfo pinMismatch() noexcept { return {"SecurityBadCertificateError", kCertificate}; }
ErrorInfo uncheckableName() noexcept {
  return {"SecurityCertificateDomainMismatchError", kCertificate};
}
ErrorInfo tlsOutOfMemory() noexcept { return {"SecurityError", kProtocol, systemError(ENOMEM)}; }

// The grouping follows how the reference's network layer folds NSPR errors into its few codes:
// unreachable networks and refused access count as "refused", resets as plain network errors.
ErrorInfo classifyErrno(int err) noexcept {
  switch (err) {
    case ECONNREFUSED:
    case ENETUNREACH:
    case EHOSTUNREACH:
    case EADDRNOTAVAIL:
    case EACCES:
      return {"ConnectionRefusedError", kNetwork, systemError(err)};
    case ETIMEDOUT:
      return {"NetworkTimeoutError", kNetwork, systemError(err)};
    default:
      return {"NetworkError", kNetwork, systemError(err)};
  }
}

ErrorInfo classifyError(const std::error_code& ec) noexcept {
  if (ec.category() == asio::error::get_netdb_category() ||
      ec.category() == asio::error::get_addrinfo_category()) {
    return domainNotFound(ec);
  }
  if (ec == asio::error::eof) return streamInterrupted();
  return classifyErrno(ec.value());
}

// Certificate problems the user could judge (untrusted issuer, expired, wrong name) have class
// "SecurityCertificate", everything else "SecurityProtocol".
ErrorInfo classifyVerifyResult(long verifyResult) noexcept {
  const std::error_code cause(static_cast<int>(verifyResult), certificateCategory());
  auto certificate = [&cause](std::string_view name) {
    return ErrorInfo{name, kCertificate, cause};
  };
  switch (verifyResult) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return certificate("SecurityExpiredCertificateError");
    case X509_V_ERR_CERT_REVOKED:
      return certificate("SecurityRevokedCertificateError");
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_REJECTED:
    case X509_V_ERR_INVALID_CA:
      return certificate("SecurityUntrustedCertificateIssuerError");
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
    case X509_V_ERR_EMAIL_MISMATCH:
      return certificate("SecurityCertificateDomainMismatchError");
    case X509_V_ERR_INVALID_PURPOSE:
    case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
    case X509_V_ERR_KEYUSAGE_NO_DIGITAL_SIGNATURE:
      return certificate("SecurityInadequateKeyUsageError");
    case X509_V_ERR_CA_MD_TOO_WEAK:
      return certificate("SecurityCertificateSignatureAlgorithmDisabledError");
    default:
      return certificate("SecurityError");
  }
}

ErrorInfo classifyTlsError(unsigned long errorCode) noexcept {
  const std::error_code cause(static_cast<int>(errorCode), tlsCategory());
  auto protocol = [&cause](std::string_view name) { return ErrorInfo{name, kProtocol, cause}; };
  if (ERR_GET_LIB(errorCode) != ERR_LIB_SSL) return protocol("SecurityError");
  switch (ERR_GET_REASON(errorCode)) {
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_NO_PROTOCOLS_AVAILABLE:
    case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
    case SSL_R_VERSION_TOO_LOW:
      return protocol("SecurityUnsupportedTLSVersionError");
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
      return protocol("SecurityNoCertificateError");
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
      return protocol("SecurityBadCertificateError");
    case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
      return protocol("SecurityUnsupportedCertificateTypeError");
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
      return protocol("SecurityExpiredCertificateError");
    case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
      return protocol("SecurityRevokedCertificateError");
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
      return protocol("SecurityUntrustedCertificateIssuerError");
    default:
      return protocol("SecurityError");
  }
}

}  // namespace tcpsocket::detail
