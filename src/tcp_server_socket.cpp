// TCPServerSocket: the public handle over server_impl.cpp.
#include "tcpsocket/tcp_server_socket.hpp"

#include <sys/socket.h>

#include <cstring>
#include <string>

#include "access.hpp"
#include "address.hpp"
#include "option_checks.hpp"
#include "server_impl.hpp"
#include "tcpsocket/app_policy.hpp"
#include "tcpsocket/errors.hpp"
#include "tcpsocket/event_loop.hpp"

namespace tcpsocket {

TCPServerSocket::TCPServerSocket() noexcept = default;
TCPServerSocket::~TCPServerSocket() = default;
TCPServerSocket::TCPServerSocket(const TCPServerSocket&) noexcept = default;
TCPServerSocket& TCPServerSocket::operator=(const TCPServerSocket&) noexcept = default;
TCPServerSocket::TCPServerSocket(TCPServerSocket&&) noexcept = default;
TCPServerSocket& TCPServerSocket::operator=(TCPServerSocket&&) noexcept = default;
TCPServerSocket::TCPServerSocket(std::shared_ptr<detail::ServerImpl> impl) noexcept
    : impl_(std::move(impl)) {}

detail::ServerImpl& TCPServerSocket::impl() const {
  if (!impl_) throw InvalidStateError("this TCPServerSocket handle refers to no server");
  return *impl_;
}

TCPServerSocket TCPServerSocket::listen(EventLoop& loop, std::uint16_t port,
                                        const ServerSocketOptions& options, std::uint16_t backlog) {
  detail::Access::core(loop).checkThread();
  detail::validateConnectionOptions(options.connection);
  if (const auto& policy = options.policy ? options.policy : loop.policy()) {
    policy->checkListen(options.localAddress, port);
  }
  return detail::Access::handle(
      detail::ServerImpl::listen(detail::Access::core(loop), port, options, backlog));
}

TCPServerSocket TCPServerSocket::adopt(EventLoop& loop, int fd,
                                       const ServerSocketOptions& options) {
  detail::Access::core(loop).checkThread();
  detail::validateConnectionOptions(options.connection);
  sockaddr_storage local{};
  socklen_t length = sizeof local;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) != 0) {
    throw TypeError("descriptor " + std::to_string(fd) + " is not a socket");
  }
  if (const auto& policy = options.policy ? options.policy : loop.policy()) {
    asio::ip::tcp::endpoint endpoint;
    if (length <= endpoint.capacity()) {
      std::memcpy(endpoint.data(), &local, length);
      endpoint.resize(length);
    }
    policy->checkListen(detail::addressString(endpoint.address()), endpoint.port());
  }
  return detail::Access::handle(detail::ServerImpl::adopt(detail::Access::core(loop), fd, options));
}

std::uint16_t TCPServerSocket::localPort() const { return impl().localPort(); }
void TCPServerSocket::drain(std::chrono::milliseconds deadline, std::function<void()> done,
                            std::chrono::milliseconds quietPeriod) {
  impl().drain(deadline, std::move(done), quietPeriod);
}
void TCPServerSocket::abortConnections() { impl().abortConnections(); }
ServerStats TCPServerSocket::stats() const { return impl().stats(); }
std::vector<TCPSocket> TCPServerSocket::connections() const {
  impl().checkThread();
  std::vector<TCPSocket> handles;
  for (auto& s : impl().connections()) handles.push_back(detail::Access::handle(std::move(s)));
  return handles;
}
int TCPServerSocket::nativeHandle() const { return impl().nativeHandle(); }
void TCPServerSocket::close() { impl().close(); }

void TCPServerSocket::onconnect(ServerEventHandler handler) {
  impl().checkThread();
  impl().listeners().setAttribute(static_cast<int>(ServerEventType::Connect), std::move(handler));
}

void TCPServerSocket::onerror(ServerEventHandler handler) {
  impl().checkThread();
  impl().listeners().setAttribute(static_cast<int>(ServerEventType::Error), std::move(handler));
}

ListenerId TCPServerSocket::addEventListener(ServerEventType type, ServerEventHandler handler) {
  impl().checkThread();
  return impl().listeners().add(static_cast<int>(type), std::move(handler));
}

void TCPServerSocket::removeEventListener(ListenerId id) {
  impl().checkThread();
  impl().listeners().remove(id);
}

}  // namespace tcpsocket
