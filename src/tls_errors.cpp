#include "tls_errors.hpp"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

namespace tcpsocket::detail {
namespace {

constexpr std::string_view kCertificate = "SecurityCertificate";
constexpr std::string_view kProtocol = "SecurityProtocol";

}  // namespace

ErrorInfo classifyVerifyResult(long verifyResult) noexcept {
  switch (verifyResult) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return {"SecurityExpiredCertificateError", kCertificate};
    case X509_V_ERR_CERT_REVOKED:
      return {"SecurityRevokedCertificateError", kCertificate};
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_REJECTED:
    case X509_V_ERR_INVALID_CA:
      return {"SecurityUntrustedCertificateIssuerError", kCertificate};
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
    case X509_V_ERR_EMAIL_MISMATCH:
      return {"SecurityCertificateDomainMismatchError", kCertificate};
    case X509_V_ERR_INVALID_PURPOSE:
    case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
    case X509_V_ERR_KEYUSAGE_NO_DIGITAL_SIGNATURE:
      return {"SecurityInadequateKeyUsageError", kCertificate};
    case X509_V_ERR_CA_MD_TOO_WEAK:
      return {"SecurityCertificateSignatureAlgorithmDisabledError", kCertificate};
    default:
      return {"SecurityError", kCertificate};
  }
}

ErrorInfo classifyTlsError(unsigned long errorCode) noexcept {
  if (ERR_GET_LIB(errorCode) != ERR_LIB_SSL) return {"SecurityError", kProtocol};
  switch (ERR_GET_REASON(errorCode)) {
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_NO_PROTOCOLS_AVAILABLE:
    case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
    case SSL_R_VERSION_TOO_LOW:
      return {"SecurityUnsupportedTLSVersionError", kProtocol};
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
      return {"SecurityNoCertificateError", kProtocol};
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
      return {"SecurityBadCertificateError", kProtocol};
    case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
      return {"SecurityUnsupportedCertificateTypeError", kProtocol};
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
      return {"SecurityExpiredCertificateError", kProtocol};
    case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
      return {"SecurityRevokedCertificateError", kProtocol};
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
      return {"SecurityUntrustedCertificateIssuerError", kProtocol};
    default:
      return {"SecurityError", kProtocol};
  }
}

ErrorInfo pinMismatch() noexcept { return {"SecurityBadCertificateError", kCertificate}; }

}  // namespace tcpsocket::detail
