#include "support/test_certs.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <memory>
#include <stdexcept>

namespace test {
namespace {

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
};
using Key = std::unique_ptr<EVP_PKEY, Free>;
using Cert = std::unique_ptr<X509, Free>;
using Bio = std::unique_ptr<BIO, Free>;

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test certificate: ") + what);
}

Key newKey() {
  Key key(EVP_EC_gen("P-256"));
  check(key != nullptr, "EC key");
  return key;
}

std::string bioText(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string pemOf(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  check(PEM_write_bio_X509(bio.get(), cert) == 1, "write certificate");
  return bioText(bio.get());
}

std::string pemOf(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
        "write key");
  return bioText(bio.get());
}

void addExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  check(ext != nullptr, "extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// `issuer`/`issuerKey` null: self-signed.
Cert makeCert(EVP_PKEY* key, const std::string& commonName, X509* issuer, EVP_PKEY* issuerKey,
              long fromDays, long toDays, bool isCa, const CertSpec* leaf) {
  static long serial = 1;
  Cert cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), ++serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), fromDays * 86400);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), toDays * 86400);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(commonName.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509* signer = issuer ? issuer : cert.get();
  if (isCa) {
    addExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    addExtension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    addExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
    addExtension(cert.get(), signer, NID_ext_key_usage,
                 leaf->clientAuth ? "clientAuth" : "serverAuth");
    std::string san;
    for (const auto& dns : leaf->dnsNames) san += (san.empty() ? "DNS:" : ",DNS:") + dns;
    for (const auto& ip : leaf->ipAddresses) san += (san.empty() ? "IP:" : ",IP:") + ip;
    if (!san.empty()) addExtension(cert.get(), signer, NID_subject_alt_name, san);
  }
  addExtension(cert.get(), signer, NID_subject_key_identifier, "hash");
  check(X509_sign(cert.get(), issuerKey ? issuerKey : key, EVP_sha256()) > 0, "sign");
  return cert;
}

Cert parse(const std::string& pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Cert cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  check(cert != nullptr, "parse certificate");
  return cert;
}

Key parseKey(const std::string& pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Key key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  check(key != nullptr, "parse key");
  return key;
}

}  // namespace

TestCa::TestCa() {
  Key key = newKey();
  Cert cert = makeCert(key.get(), "tcpsocket test CA", nullptr, nullptr, -1, 365, true, nullptr);
  ca_ = {pemOf(cert.get()), pemOf(key.get())};
}

Credentials TestCa::issue(const CertSpec& spec) const {
  Cert caCert = parse(ca_.certificatePem);
  Key caKey = parseKey(ca_.keyPem);
  Key key = newKey();
  Cert cert = makeCert(key.get(), "tcpsocket test leaf", caCert.get(), caKey.get(),
                       spec.validFromDays, spec.validToDays, false, &spec);
  return {pemOf(cert.get()), pemOf(key.get())};
}

Credentials TestCa::selfSigned(const CertSpec& spec) {
  Key key = newKey();
  Cert cert = makeCert(key.get(), "tcpsocket self-signed", nullptr, nullptr, spec.validFromDays,
                       spec.validToDays, false, &spec);
  return {pemOf(cert.get()), pemOf(key.get())};
}

std::string hashedFileName(const std::string& certificatePem) {
  Cert cert = parse(certificatePem);
  char name[16];
  std::snprintf(name, sizeof name, "%08lx.0", X509_subject_name_hash(cert.get()));
  return name;
}

std::string publicKeyPin(const std::string& certificatePem) {
  Cert cert = parse(certificatePem);
  unsigned char* der = nullptr;
  const int length = i2d_PUBKEY(X509_get0_pubkey(cert.get()), &der);
  check(length > 0, "public key");
  unsigned char digest[32];
  unsigned int digestLength = 0;
  EVP_Digest(der, static_cast<std::size_t>(length), digest, &digestLength, EVP_sha256(), nullptr);
  OPENSSL_free(der);
  unsigned char encoded[64];
  const int n = EVP_EncodeBlock(encoded, digest, 32);
  return "sha256/" + std::string(reinterpret_cast<char*>(encoded), static_cast<std::size_t>(n));
}

}  // namespace test
