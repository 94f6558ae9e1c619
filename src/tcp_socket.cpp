// TCPSocket: the public handle; argument conversions of the WebIDL overloads live here, the state
// machine in socket_impl.cpp.
#include "tcpsocket/tcp_socket.hpp"

#include <algorithm>

#include "access.hpp"
#include "address.hpp"
#include "option_checks.hpp"
#include "socket_impl.hpp"
#include "tcpsocket/app_policy.hpp"
#include "tcpsocket/errors.hpp"
#include "tcpsocket/event_loop.hpp"
#include "tls_context.hpp"

namespace tcpsocket {

TCPSocket::TCPSocket() noexcept = default;
TCPSocket::~TCPSocket() = default;
TCPSocket::TCPSocket(const TCPSocket&) noexcept = default;
TCPSocket& TCPSocket::operator=(const TCPSocket&) noexcept = default;
TCPSocket::TCPSocket(TCPSocket&&) noexcept = default;
TCPSocket& TCPSocket::operator=(TCPSocket&&) noexcept = default;
TCPSocket::TCPSocket(std::shared_ptr<detail::SocketImpl> impl) noexcept : impl_(std::move(impl)) {}

detail::SocketImpl& TCPSocket::impl() const {
  if (!impl_) throw InvalidStateError("this TCPSocket handle refers to no socket");
  return *impl_;
}

TCPSocket TCPSocket::open(EventLoop& loop, std::string_view host, std::uint16_t port,
                          const SocketOptions& options) {
  detail::Access::core(loop).checkThread();
  // The resolver and the address parser would see the name only up to a NUL, while the app's
  // policy checks all of it: "evil.com\0.example.com" would pass a "*.example.com" rule.
  if (host.find('\0') != std::string_view::npos) {
    throw TypeError("the host name contains a NUL character");
  }
  detail::validateConnectionOptions(options.connection);
  detail::checkTimeout(options.connectTimeout, "connectTimeout");
  // Built now so that bad TLS settings throw here; plain sockets with default settings skip it.
  std::shared_ptr<const detail::TlsContext> tls;
  if (options.useSecureTransport || options.tls != TlsOptions{}) {
    tls = detail::TlsContext::forClient(options.tls);
  }
  SocketOptions checked = options;
  if (!checked.policy) checked.policy = loop.policy();
  if (checked.policy) checked.policy->checkPermission();  // the allowlist is checked after DNS
  return detail::Access::handle(
      detail::SocketImpl::connect(detail::Access::core(loop), host, port, checked, std::move(tls)));
}

const std::string& TCPSocket::host() const { return impl().host(); }
std::uint16_t TCPSocket::port() const { return impl().port(); }
std::string TCPSocket::remoteAddress() const {
  const auto& peer = impl().peerAddress();
  return peer.is_unspecified() ? std::string() : detail::addressString(peer);
}
std::uint16_t TCPSocket::remotePort() const {
  return impl().peerAddress().is_unspecified() ? 0 : impl().port();
}
std::string TCPSocket::localAddress() const {
  const auto local = impl().localEndpoint();
  return local ? detail::addressString(local->address()) : std::string();
}
std::uint16_t TCPSocket::localPort() const {
  const auto local = impl().localEndpoint();
  return local ? local->port() : 0;
}
std::uint64_t TCPSocket::bytesRead() const noexcept { return impl_ ? impl_->bytesRead() : 0; }
std::uint64_t TCPSocket::bytesWritten() const noexcept { return impl_ ? impl_->bytesWritten() : 0; }
bool TCPSocket::ssl() const { return impl().ssl(); }
std::string TCPSocket::alpnProtocol() const { return impl().alpnProtocol(); }
std::optional<ProxyInfo> TCPSocket::proxyInfo() const {
  const ProxyInfo* info = impl().proxyInfo();
  return info ? std::optional<ProxyInfo>(*info) : std::nullopt;
}
std::uint64_t TCPSocket::bufferedAmount() const { return impl().bufferedAmount(); }
ReadyState TCPSocket::readyState() const { return impl().readyState(); }
BinaryType TCPSocket::binaryType() const { return impl().binaryType(); }
int TCPSocket::nativeHandle() const { return impl().nativeHandle(); }

bool TCPSocket::send(std::string_view data) {
  return impl().send(reinterpret_cast<const std::uint8_t*>(data.data()), data.size(), data.size());
}

// WebIDL ByteString conversion: it happens before the call, so it throws whatever the state.
bool TCPSocket::send(std::u16string_view data) {
  std::string bytes(data.size(), '\0');
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (data[i] > 0xFF) {
      throw TypeError("send(): character " + std::to_string(static_cast<unsigned>(data[i])) +
                      " at index " + std::to_string(i) + " is not a byte (ByteString is Latin-1)");
    }
    bytes[i] = static_cast<char>(data[i]);
  }
  return send(std::string_view(bytes));
}

bool TCPSocket::send(ArrayBuffer data, std::uint32_t byteOffset,
                     std::optional<std::uint32_t> byteLength) {
  const std::uint64_t length = data.size();
  const std::uint64_t offset = std::min<std::uint64_t>(length, byteOffset);
  const std::uint64_t counted = byteLength ? *byteLength : length;  // unclamped, as the reference
  const std::uint64_t size = std::min(length - offset, counted);
  return impl().send(data.data() + offset, static_cast<std::size_t>(size), counted);
}

bool TCPSocket::sendShared(ArrayBuffer data, std::shared_ptr<const void> owner) {
  return impl().send(data.data(), data.size(), data.size(), &owner);
}

void TCPSocket::suspend() { impl().suspend(); }
void TCPSocket::resume() { impl().resume(); }
void TCPSocket::suspendUntilDrain() { impl().suspendUntilDrain(); }
void TCPSocket::close() { impl().close(); }
void TCPSocket::closeImmediately() { impl().closeImmediately(); }
void TCPSocket::halfClose() { impl().halfClose(); }
void TCPSocket::abort() { impl().abort(); }

void TCPSocket::upgradeToSecure() { impl().upgradeToSecure(); }

namespace {
void setHandler(detail::SocketImpl& impl, SocketEventType type, SocketEventHandler handler) {
  impl.checkThread();
  impl.listeners().setAttribute(static_cast<int>(type), std::move(handler));
}
}  // namespace

void TCPSocket::onopen(SocketEventHandler h) {
  setHandler(impl(), SocketEventType::Open, std::move(h));
}
void TCPSocket::ondata(SocketEventHandler h) {
  setHandler(impl(), SocketEventType::Data, std::move(h));
}
void TCPSocket::ondrain(SocketEventHandler h) {
  setHandler(impl(), SocketEventType::Drain, std::move(h));
}
void TCPSocket::onerror(SocketEventHandler h) {
  setHandler(impl(), SocketEventType::Error, std::move(h));
}
void TCPSocket::onend(SocketEventHandler h) {
  setHandler(impl(), SocketEventType::End, std::move(h));
}
void TCPSocket::onclose(SocketEventHandler h) {
  setHandler(impl(), SocketEventType::Close, std::move(h));
}

ListenerId TCPSocket::addEventListener(SocketEventType type, SocketEventHandler handler) {
  impl().checkThread();
  return impl().listeners().add(static_cast<int>(type), std::move(handler));
}

void TCPSocket::removeEventListener(ListenerId id) {
  impl().checkThread();
  impl().listeners().remove(id);
}

}  // namespace tcpsocket
