#include "acceptor.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <asio/ip/v6_only.hpp>
#include <asio/post.hpp>
#include <cerrno>
#include <cstring>

#include "address.hpp"
#include "sys_ops.hpp"
#include "tcpsocket/address.hpp"
#include "tcpsocket/errors.hpp"

namespace tcpsocket::detail {
namespace {

constexpr int kMaxAcceptsPerWakeup = 64;
constexpr std::chrono::milliseconds kMinBackoff{10};
constexpr std::chrono::milliseconds kMaxBackoff{1000};

// Errors of accept() that concern one pending connection, not the listener (see accept(2)).
bool skippable(int err) noexcept {
  switch (err) {
    case EINTR:
    case ECONNABORTED:
    case EPERM:
    case EPROTO:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETUNREACH:
    case ETIMEDOUT:
      return true;
    default:
      return false;
  }
}

bool outOfResources(int err) noexcept {
  return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

}  // namespace

Acceptor::Acceptor(LoopCore& loop) : loop_(loop), acceptor_(std::in_place, loop.io()) {}

int Acceptor::nativeHandle() const noexcept {
  auto& acceptor = const_cast<std::optional<asio::ip::tcp::acceptor>&>(acceptor_);  // Asio's API
  return acceptor && acceptor->is_open() ? acceptor->native_handle() : -1;
}

void Acceptor::listen(const asio::ip::tcp::endpoint& endpoint, bool reusePort, bool ipv6Only,
                      int backlog) {
  const std::string where = hostPort(endpoint.address().to_string(), endpoint.port());
  // Asio reports errno values in a category of its own; the exceptions carry the system's.
  auto fail = [&where](int err) { throwListenError({err, std::system_category()}, where); };
  std::error_code ec;
  const int fd = sys::openStream(endpoint.protocol().family());
  if (fd < 0) fail(errno);
  acceptor_->assign(endpoint.protocol(), fd, ec);
  if (ec) {
    ::close(fd);
    fail(ec.value());
  }
  acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
  if (reusePort) {
    const int one = 1;
    if (sys::ops().setsockopt(acceptor_->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one,
                              sizeof one) != 0) {
      fail(errno);
    }
  }
  if (endpoint.address().is_v6()) {
    // Set either way: "::" is dual-stack unless asked, whatever the sysctl says.
    acceptor_->set_option(asio::ip::v6_only(ipv6Only), ec);
    if (ec) fail(ec.value());
  }
  acceptor_->bind(endpoint, ec);
  if (ec) fail(ec.value());
  acceptor_->listen(backlog == 0 ? asio::socket_base::max_listen_connections : backlog, ec);
  if (ec) fail(ec.value());
  acceptor_->non_blocking(true, ec);  // accept4 in a loop until EAGAIN: must never block
  if (ec) fail(ec.value());
  localPort_ = acceptor_->local_endpoint(ec).port();
}

void Acceptor::adopt(int fd) {
  auto option = [fd](int name) {
    int value = -1;
    socklen_t length = sizeof value;
    return ::getsockopt(fd, SOL_SOCKET, name, &value, &length) == 0 ? value : -1;
  };
  const int family = option(SO_DOMAIN);
  if (option(SO_TYPE) != SOCK_STREAM || option(SO_PROTOCOL) != IPPROTO_TCP ||
      (family != AF_INET && family != AF_INET6) || option(SO_ACCEPTCONN) != 1) {
    throw TypeError("descriptor " + std::to_string(fd) + " is not a listening TCP socket");
  }
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  std::error_code ec;
  acceptor_->assign(family == AF_INET ? asio::ip::tcp::v4() : asio::ip::tcp::v6(), fd, ec);
  if (!ec) acceptor_->non_blocking(true, ec);
  if (ec) throw TypeError("cannot take descriptor " + std::to_string(fd) + ": " + ec.message());
  localPort_ = acceptor_->local_endpoint(ec).port();
}

void Acceptor::start(std::shared_ptr<Handler> handler) {
  handler_ = std::move(handler);
  post();
}

void Acceptor::close() noexcept {
  handler_.reset();
  std::error_code ignored;
  if (acceptor_) acceptor_->close(ignored);
  if (backoffTimer_) backoffTimer_->cancel();
}

void Acceptor::abandon() noexcept {
  close();
  backoffTimer_.reset();
  acceptor_.reset();
}

void Acceptor::post() {
  asio::post(loop_.io(), [this, keep = handler_] { acceptReady(); });
}

void Acceptor::waitAcceptable() {
  backoff_ = std::chrono::milliseconds(0);  // the queue is empty: whatever exhausted us is over
  acceptor_->async_wait(asio::socket_base::wait_read, [this, keep = handler_](std::error_code ec) {
    if (ec != asio::error::operation_aborted) acceptReady();
  });
}

// Accepts until EAGAIN (then waits) or the per-wakeup budget (then posts), as readiness is
// edge-triggered.
void Acceptor::acceptReady() {
  for (int i = 0; i < kMaxAcceptsPerWakeup; ++i) {
    // Checked each time: a connect listener may have closed the server or filled it up.
    if (!handler_ || !handler_->mayAccept()) return;
    sockaddr_storage peer{};
    socklen_t peerLength = sizeof peer;
    const int fd = sys::retryInterrupted([&] {
      return sys::ops().accept4(acceptor_->native_handle(), reinterpret_cast<sockaddr*>(&peer),
                                &peerLength, SOCK_NONBLOCK | SOCK_CLOEXEC);
    });
    if (fd >= 0) {
      backoff_ = std::chrono::milliseconds(0);
      asio::ip::tcp::endpoint endpoint;
      std::memcpy(endpoint.data(), &peer, std::min<std::size_t>(peerLength, endpoint.capacity()));
      endpoint.resize(peerLength);
      handler_->connectionAccepted(fd, endpoint);
      continue;
    }
    const int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK) {
      waitAcceptable();
      return;
    }
    if (skippable(err)) continue;
    if (outOfResources(err)) {
      backOff();
      return;
    }
    auto handler = std::move(handler_);
    close();
    handler->acceptFailed(err);
    return;
  }
  post();
}

// Out of descriptors or memory: retrying at once would spin (the pending connection stays
// pending), giving up would stop the server for good. Pause, doubling the pause up to 1 s.
void Acceptor::backOff() {
  ++backoffs_;
  backoff_ = std::clamp(backoff_ * 2, kMinBackoff, kMaxBackoff);
  if (!backoffTimer_) backoffTimer_.emplace(loop_.io());
  backoffTimer_->expires_after(backoff_);
  backoffTimer_->async_wait([this, keep = handler_](const std::error_code& ec) {
    if (!ec) acceptReady();
  });
}

}  // namespace tcpsocket::detail
