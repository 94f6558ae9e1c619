// Maps OpenSSL's handshake and record failures to the reference's Security* error names (§6.1):
// certificate problems the user could judge (untrusted issuer, expired, wrong name) have class
// "SecurityCertificate", everything else "SecurityProtocol".
#pragma once

#include <openssl/ssl.h>

#include "error_names.hpp"

namespace tcpsocket::detail {

/// A failed certificate verification (an X509_V_ERR_* code).
ErrorInfo classifyVerifyResult(long verifyResult) noexcept;
/// A failure reported by OpenSSL's error queue (ERR_get_error()): alerts, versions, protocol.
ErrorInfo classifyTlsError(unsigned long errorCode) noexcept;
/// The peer's public key matched none of the pins.
ErrorInfo pinMismatch() noexcept;

}  // namespace tcpsocket::detail
