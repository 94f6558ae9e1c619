#include "js_options.hpp"

#include <memory>
#include <string>
#include <tcpsocket/app_policy.hpp>

namespace tcpsocket_node {

namespace {

bool has(Napi::Object js, const char* key) {
  Napi::Value v = js.Get(key);
  return !v.IsUndefined() && !v.IsNull();
}
std::string str(Napi::Object js, const char* key) { return js.Get(key).ToString().Utf8Value(); }
bool flag(Napi::Object js, const char* key) { return js.Get(key).ToBoolean().Value(); }
double num(Napi::Object js, const char* key) { return js.Get(key).ToNumber().DoubleValue(); }
std::chrono::milliseconds millis(Napi::Object js, const char* key) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(num(js, key)));
}
std::vector<std::string> strings(Napi::Object js, const char* key) {
  std::vector<std::string> out;
  Napi::Array a = js.Get(key).As<Napi::Array>();
  for (std::uint32_t i = 0; i < a.Length(); ++i) out.push_back(a.Get(i).ToString().Utf8Value());
  return out;
}

tcpsocket::BinaryType binaryType(Napi::Object js) {
  return has(js, "binaryType") && str(js, "binaryType") == "arraybuffer"
             ? tcpsocket::BinaryType::ArrayBuffer
             : tcpsocket::BinaryType::String;
}

tcpsocket::ConnectionOptions connection(Napi::Object js) {
  tcpsocket::ConnectionOptions c;
  if (has(js, "noDelay")) c.noDelay = flag(js, "noDelay");
  if (has(js, "keepAlive")) {
    Napi::Object k = js.Get("keepAlive").As<Napi::Object>();
    c.keepAlive.enabled = true;
    if (has(k, "idle")) c.keepAlive.idle = std::chrono::seconds(static_cast<int>(num(k, "idle")));
    if (has(k, "interval")) {
      c.keepAlive.interval = std::chrono::seconds(static_cast<int>(num(k, "interval")));
    }
    if (has(k, "count")) c.keepAlive.count = static_cast<int>(num(k, "count"));
  }
  if (has(js, "userTimeout")) c.userTimeout = millis(js, "userTimeout");
  if (has(js, "idleTimeout")) c.idleTimeout = millis(js, "idleTimeout");
  if (has(js, "maxBufferedAmount")) {
    c.maxBufferedAmount = static_cast<std::uint64_t>(num(js, "maxBufferedAmount"));
  }
  return c;
}

tcpsocket::TlsVersion tlsVersion(const std::string& v) {
  if (v == "TLSv1") return tcpsocket::TlsVersion::Tls1_0;
  if (v == "TLSv1.1") return tcpsocket::TlsVersion::Tls1_1;
  if (v == "TLSv1.3") return tcpsocket::TlsVersion::Tls1_3;
  return tcpsocket::TlsVersion::Tls1_2;
}

tcpsocket::TlsOptions tls(Napi::Object js) {
  tcpsocket::TlsOptions t;
  if (has(js, "ca")) t.trustedCertificates.pem = str(js, "ca");
  if (has(js, "cert")) t.certificateChain.pem = str(js, "cert");
  if (has(js, "key")) t.privateKey.pem = str(js, "key");
  if (has(js, "pins")) t.pinnedPublicKeys = strings(js, "pins");
  if (has(js, "minVersion")) t.minVersion = tlsVersion(str(js, "minVersion"));
  if (has(js, "alpnProtocols")) t.alpnProtocols = strings(js, "alpnProtocols");
  if (has(js, "servername")) t.serverName = str(js, "servername");
  if (has(js, "requestCert")) t.requireClientCertificate = flag(js, "requestCert");
  if (has(js, "handshakeTimeout")) t.handshakeTimeout = millis(js, "handshakeTimeout");
  if (has(js, "dangerouslyAcceptAnyCertificate")) {
    t.dangerouslyAcceptAnyCertificate = flag(js, "dangerouslyAcceptAnyCertificate");
  }
  return t;
}

std::shared_ptr<const tcpsocket::AppPolicy> policy(Napi::Object js) {
  if (has(js, "manifest")) {
    return std::make_shared<tcpsocket::AppPolicy>(
        tcpsocket::AppPolicy::fromManifestFile(str(js, "manifest")));
  }
  return nullptr;
}

}  // namespace

tcpsocket::SocketOptions socketOptions(Napi::Object js) {
  tcpsocket::SocketOptions o;
  o.useSecureTransport = has(js, "useSecureTransport") && flag(js, "useSecureTransport");
  o.binaryType = binaryType(js);
  if (has(js, "connectTimeout")) o.connectTimeout = millis(js, "connectTimeout");
  o.policy = policy(js);
  o.connection = connection(js);
  o.tls = tls(js);
  return o;
}

tcpsocket::ServerSocketOptions serverOptions(Napi::Object js) {
  tcpsocket::ServerSocketOptions o;
  o.binaryType = binaryType(js);
  if (has(js, "localAddress")) o.localAddress = str(js, "localAddress");
  o.policy = policy(js);
  o.connection = connection(js);
  if (has(js, "maxConnections"))
    o.maxConnections = static_cast<std::uint32_t>(num(js, "maxConnections"));
  if (has(js, "maxConnectionsPerAddress")) {
    o.maxConnectionsPerAddress = static_cast<std::uint32_t>(num(js, "maxConnectionsPerAddress"));
  }
  if (has(js, "reusePort")) o.reusePort = flag(js, "reusePort");
  o.useSecureTransport = has(js, "useSecureTransport") && flag(js, "useSecureTransport");
  o.tls = tls(js);
  return o;
}

}  // namespace tcpsocket_node
